SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'snapshot is restorable by everyone (createVolumePermission group all)'
         || CASE WHEN s.encrypted = 0 THEN ', and unencrypted' ELSE '' END AS reason,
       json_object('public', s.public, 'encrypted', s.encrypted, 'source_volume_id', s.source_volume_id) AS evidence
FROM snapshots AS s
WHERE s.provider = 'aws'
  AND (s.public = 1 OR s.uid IN (SELECT g.resource_uid FROM grants AS g WHERE g.grantee_kind = 'public'))
