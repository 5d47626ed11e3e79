SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'snapshot is restorable by everyone (createVolumePermission group all)'
         || CASE WHEN s.encrypted = 0 THEN ', and unencrypted' ELSE '' END AS reason,
       json_object('public', s.public, 'encrypted', s.encrypted, 'source_volume_id', s.source_volume_id) AS evidence
FROM snapshots AS s
WHERE s.provider = 'aws'
  AND (s.public = 1 OR EXISTS (SELECT 1 FROM grants AS g WHERE g.resource_uid = s.uid AND g.grantee_kind = 'public'))
