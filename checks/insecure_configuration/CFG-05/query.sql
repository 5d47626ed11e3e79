SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'public IP ' || i.public_ip || ' and instance profile ' || i.profile AS reason,
       json_object('public_ip', i.public_ip, 'profile', i.profile) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state <> 'terminated'
  AND i.public_ip > '' AND i.profile IS NOT NULL AND i.profile <> ''
