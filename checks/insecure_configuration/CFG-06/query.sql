-- A VM without its own serial-port-enable key inherits the project's common metadata.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'serial-port-enable is true'
         || CASE WHEN json_extract(i.extra, '$.serial_port_enable') IS NULL THEN ' (inherited from the project metadata)'
                 ELSE ' in the VM metadata' END AS reason,
       json_object('instance', json_extract(i.extra, '$.serial_port_enable'), 'project', CAST(p.value AS INTEGER)) AS evidence
FROM instances AS i
LEFT JOIN settings AS p ON p.provider = 'gcp' AND p.account = i.account AND p.id = 'serial_port_enable'
WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
  AND COALESCE(CAST(json_extract(i.extra, '$.serial_port_enable') AS INTEGER), CAST(p.value AS INTEGER), 0) = 1
