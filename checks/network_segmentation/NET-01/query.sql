WITH b AS (
  SELECT r.provider, r.account, r.region, r.group_id,
         json_group_array(DISTINCT CAST(p.value AS INTEGER)) AS ports,  -- a number on either backend
         json_group_array(DISTINCT r.id) AS rules,
         group_concat(DISTINCT r.source) AS sources
  FROM firewall_rules AS r, json_each(:admin_ports) AS p
  WHERE r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0 AND r.provider IN ('aws', 'gcp', 'azure') AND lower(r.protocol) IN ('tcp', '6', '-1', 'all', '*') AND (r.port_from IS NULL OR (r.port_from <= p.value AND COALESCE(r.port_to, r.port_from) >= p.value))
    AND NOT (r.provider = 'azure' AND EXISTS (
      SELECT 1 FROM firewall_rules AS d
      WHERE d.provider = 'azure' AND d.account = r.account AND d.group_id = r.group_id
        AND d.direction = 'ingress' AND d.action = 'deny' AND d.world_open = 1 AND d.priority < r.priority
        AND lower(d.protocol) IN ('tcp', '-1')
        AND (d.port_from IS NULL OR (d.port_from <= p.value AND COALESCE(d.port_to, d.port_from) >= p.value))))
  GROUP BY r.provider, r.account, r.region, r.group_id
)
SELECT COALESCE(g.uid, b.provider || ':' || b.account || ':' || b.region || ':firewall_group:' || b.group_id) AS resource_uid,
       'firewall_group' AS resource_kind, b.group_id AS resource_id, COALESCE(g.name, '') AS resource_name,
       b.provider, b.account, b.region, g.tags,
       'port(s) ' || (SELECT group_concat(value, ', ') FROM json_each(b.ports)) || ' open to ' || b.sources AS reason,
       json_object('ports', json(b.ports), 'rules', json(b.rules), 'sources', b.sources) AS evidence
FROM b LEFT JOIN firewall_groups AS g
  ON g.id = b.group_id AND g.account = b.account AND g.region = b.region AND g.provider = b.provider
