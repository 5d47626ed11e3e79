-- Instance metadata overrides the project's: enable-oslogin on the VM wins over the project setting.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'block-project-ssh-keys is not set and OS Login is off'
         || CASE WHEN CAST(k.value AS INTEGER) = 1
                 THEN ': the project holds ' || json_extract(k.extra, '$.ssh_key_count') || ' SSH key(s)' ELSE '' END AS reason,
       json_object('block_project_ssh_keys', json_extract(i.extra, '$.block_project_ssh_keys'),
                   'project_ssh_keys', CAST(k.value AS INTEGER)) AS evidence
FROM instances AS i
LEFT JOIN settings AS o ON o.provider = 'gcp' AND o.account = i.account AND o.id = 'os_login'
LEFT JOIN settings AS k ON k.provider = 'gcp' AND k.account = i.account AND k.id = 'project_ssh_keys'
WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
  AND COALESCE(json_extract(i.extra, '$.block_project_ssh_keys'), 0) = 0
  AND COALESCE(CAST(json_extract(i.extra, '$.os_login') AS INTEGER), CAST(o.value AS INTEGER), 0) = 0
