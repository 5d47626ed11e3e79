SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'boot diagnostics are off' AS reason,
       json_object('boot_diagnostics', json_extract(i.raw, '$.properties.diagnosticsProfile.bootDiagnostics')) AS evidence
FROM instances AS i
WHERE i.provider = 'azure'
  AND COALESCE(json_extract(i.raw, '$.properties.diagnosticsProfile.bootDiagnostics.enabled'), 0) = 0
