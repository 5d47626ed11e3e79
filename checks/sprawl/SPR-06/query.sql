SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'running but not managed by SSM' || CASE WHEN i.profile IS NULL THEN ' (no instance profile)' ELSE '' END AS reason,
       json_object('profile', i.profile) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state = 'running' AND i.managed = 0
