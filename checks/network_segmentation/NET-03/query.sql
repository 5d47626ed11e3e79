WITH b AS (
  SELECT r.provider, r.account, r.region, r.group_id,
         SUM(r.direction = 'ingress') AS ingress, SUM(r.direction = 'egress') AS egress,
         json_group_array(r.id) AS rules
  FROM firewall_groups AS d
  JOIN firewall_rules AS r ON r.group_id = d.id AND r.account = d.account AND r.region = d.region
  WHERE d.provider IN ('aws', 'gcp') AND d.is_default = 1 AND r.action = 'allow' AND r.disabled = 0
  GROUP BY r.provider, r.account, r.region, r.group_id
)
SELECT g.uid AS resource_uid, 'firewall_group' AS resource_kind, g.id AS resource_id, g.name AS resource_name,
       g.provider, g.account, g.region, g.tags,
       CASE WHEN g.provider = 'gcp' THEN 'default network in use, its rule set has ' ELSE 'default security group has ' END || b.ingress || ' inbound and ' || b.egress || ' outbound rule(s)' AS reason,
       json_object('rules', json(b.rules), 'network_id', g.network_id) AS evidence
FROM b JOIN firewall_groups AS g
  ON g.id = b.group_id AND g.account = b.account AND g.region = b.region AND g.provider = b.provider
