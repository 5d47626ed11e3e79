-- vSphere 6.5+'s default is opportunistic; only an explicit 'disabled' fails (unset, e.g. vcsim, is the default).
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'vMotion encryption is disabled' AS reason,
       json_object('migrate_encryption', json_extract(i.extra, '$.migrate_encryption')) AS evidence
FROM instances AS i
WHERE i.provider = 'vsphere' AND json_extract(i.extra, '$.migrate_encryption') = 'disabled'
