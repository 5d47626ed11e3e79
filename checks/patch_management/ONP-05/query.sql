SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'VMware Tools: ' || json_extract(i.extra, '$.tools_version_status') || ' (version ' || COALESCE(json_extract(i.extra, '$.tools_version'), '?') || ')' AS reason,
       json_object('tools_version_status', json_extract(i.extra, '$.tools_version_status'),
                   'tools_running_status', json_extract(i.extra, '$.tools_running_status')) AS evidence
FROM instances AS i
WHERE i.provider = 'vsphere'
  AND json_extract(i.extra, '$.tools_version_status') IN (SELECT value FROM json_each(:bad_statuses))
