WITH all_open AS (
  SELECT r.provider, r.account, r.region, r.group_id, r.id, r.source, 'all' AS port
  FROM firewall_rules AS r
  WHERE r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0 AND r.provider IN ('aws', 'gcp', 'azure')
    -- Protocol and ports are two things: "all ports" is the full port range of a port-carrying protocol (or of
    -- every protocol). ICMP carries no ports: an open ICMP rule is NET-06's lower finding, and Azure's protocol
    -- '*' limited to port 22 opens port 22, not every port.
    AND lower(r.protocol) IN ('-1', 'all', '*', 'tcp', '6', 'udp', '17', 'sctp', '132')
    AND (r.port_from IS NULL OR (r.port_from <= 1 AND COALESCE(r.port_to, r.port_from) >= 65535))
),
risky AS (
  SELECT r.provider, r.account, r.region, r.group_id, r.id, r.source, CAST(p.value AS TEXT) AS port
  FROM firewall_rules AS r, json_each(:high_risk_ports) AS p
  WHERE r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0 AND r.provider IN ('aws', 'gcp', 'azure') AND lower(r.protocol) IN ('tcp', '6', 'udp', '17', '-1', 'all', '*')
    AND r.port_from IS NOT NULL AND r.port_from <= p.value AND COALESCE(r.port_to, r.port_from) >= p.value
),
b AS (
  SELECT provider, account, region, group_id, json_group_array(DISTINCT port) AS ports,
         json_group_array(DISTINCT id) AS rules, group_concat(DISTINCT source) AS sources
  FROM (SELECT * FROM all_open UNION ALL SELECT * FROM risky)
  GROUP BY provider, account, region, group_id
)
SELECT COALESCE(g.uid, b.provider || ':' || b.account || ':' || b.region || ':firewall_group:' || b.group_id) AS resource_uid,
       'firewall_group' AS resource_kind, b.group_id AS resource_id, COALESCE(g.name, '') AS resource_name,
       b.provider, b.account, b.region, g.tags,
       CASE WHEN EXISTS (SELECT 1 FROM json_each(b.ports) WHERE value = 'all') THEN 'all ports'
            ELSE 'port(s) ' || (SELECT group_concat(value, ', ') FROM json_each(b.ports)) END
         || ' open to ' || b.sources AS reason,
       json_object('ports', json(b.ports), 'rules', json(b.rules), 'sources', b.sources) AS evidence
FROM b LEFT JOIN firewall_groups AS g
  ON g.id = b.group_id AND g.account = b.account AND g.region = b.region AND g.provider = b.provider
