SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'no instance profile attached' AS reason,
       json_object('state', i.state) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state IN ('running', 'stopped') AND i.profile IS NULL
