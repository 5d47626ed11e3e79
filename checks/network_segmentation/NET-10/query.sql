SELECT g.uid AS resource_uid, 'firewall_group' AS resource_kind, g.id AS resource_id, g.name AS resource_name,
       g.provider, g.account, g.region, g.tags,
       'made by the EC2 launch wizard (' || g.name || ')' AS reason,
       json_object('name', g.name, 'description', g.description) AS evidence
FROM firewall_groups AS g
WHERE g.provider = 'aws' AND g.name LIKE 'launch-wizard-%'
