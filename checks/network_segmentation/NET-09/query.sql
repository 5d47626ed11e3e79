WITH b AS (
  SELECT r.provider, r.account, r.region, r.group_id, json_group_array(DISTINCT r.id) AS rules,
         group_concat(DISTINCT CASE WHEN r.port_from IS NULL OR (r.port_from <= 1 AND COALESCE(r.port_to, r.port_from) >= 65535) THEN 'all'
                                    WHEN r.port_to IS NULL OR r.port_to = r.port_from THEN CAST(r.port_from AS TEXT)
                                    ELSE r.port_from || '-' || r.port_to END) AS ports,
         group_concat(DISTINCT r.source) AS sources
  FROM firewall_rules AS r
  WHERE r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0
    AND r.provider IN ('aws', 'gcp', 'azure') AND lower(r.protocol) IN ('udp', '17')
  GROUP BY r.provider, r.account, r.region, r.group_id
)
SELECT COALESCE(g.uid, b.provider || ':' || b.account || ':' || b.region || ':firewall_group:' || b.group_id) AS resource_uid,
       'firewall_group' AS resource_kind, b.group_id AS resource_id, COALESCE(g.name, '') AS resource_name,
       b.provider, b.account, b.region, g.tags,
       'UDP port(s) ' || b.ports || ' open to ' || b.sources AS reason,
       json_object('rules', json(b.rules), 'ports', b.ports, 'sources', b.sources) AS evidence
FROM b LEFT JOIN firewall_groups AS g
  ON g.id = b.group_id AND g.account = b.account AND g.region = b.region AND g.provider = b.provider
