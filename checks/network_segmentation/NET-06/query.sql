WITH b AS (
  SELECT r.provider, r.account, r.region, r.group_id,
         json_group_array(DISTINCT r.id) AS rules, group_concat(DISTINCT r.source) AS sources,
         group_concat(DISTINCT lower(r.protocol)) AS protocols
  FROM firewall_rules AS r
  WHERE r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0
    AND r.provider IN ('aws', 'gcp', 'azure') AND lower(r.protocol) IN ('icmp', '1', 'icmpv6', '58')
  GROUP BY r.provider, r.account, r.region, r.group_id
)
SELECT COALESCE(g.uid, b.provider || ':' || b.account || ':' || b.region || ':firewall_group:' || b.group_id) AS resource_uid,
       'firewall_group' AS resource_kind, b.group_id AS resource_id, COALESCE(g.name, '') AS resource_name,
       b.provider, b.account, b.region, g.tags,
       b.protocols || ' open to ' || b.sources AS reason,
       json_object('rules', json(b.rules), 'sources', b.sources) AS evidence
FROM b LEFT JOIN firewall_groups AS g
  ON g.id = b.group_id AND g.account = b.account AND g.region = b.region AND g.provider = b.provider
