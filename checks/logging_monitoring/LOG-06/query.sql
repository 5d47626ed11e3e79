-- One finding per VPC firewall rule (its rows are per protocol / port range / source).
SELECT min(r.uid) AS resource_uid, 'firewall_rule' AS resource_kind, json_extract(r.extra, '$.rule_id') AS resource_id,
       r.name AS resource_name, r.provider, r.account, r.region, NULL AS tags,
       'rule admits ' || group_concat(DISTINCT r.source) || ' on network ' || r.group_id || ' without logging' AS reason,
       json_object('network', r.group_id, 'rule', json_extract(r.extra, '$.rule_id')) AS evidence
FROM firewall_rules AS r
WHERE r.provider = 'gcp' AND r.world_open = 1 AND r.direction = 'ingress' AND r.action = 'allow' AND r.disabled = 0
  AND COALESCE(json_extract(r.extra, '$.logging'), 0) = 0
GROUP BY r.provider, r.account, r.region, json_extract(r.extra, '$.rule_id'), r.name, r.group_id
