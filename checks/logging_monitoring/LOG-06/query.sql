-- One finding per VPC firewall rule (its rows are per protocol / port range / source).
SELECT min(r.uid) AS resource_uid, 'firewall_rule' AS resource_kind, r.rule_id AS resource_id,
       r.name AS resource_name, r.provider, r.account, r.region, NULL AS tags,
       'rule admits ' || group_concat(DISTINCT r.source) || ' on network ' || r.group_id || ' without logging' AS reason,
       json_object('network', r.group_id, 'rule', r.rule_id) AS evidence
FROM (SELECT f.*, json_extract(f.extra, '$.rule_id') AS rule_id FROM firewall_rules AS f
      WHERE f.provider = 'gcp' AND f.world_open = 1 AND f.direction = 'ingress' AND f.action = 'allow'
        AND f.disabled = 0 AND COALESCE(json_extract(f.extra, '$.logging'), 0) = 0) AS r
GROUP BY r.provider, r.account, r.region, r.rule_id, r.name, r.group_id
