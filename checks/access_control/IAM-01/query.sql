SELECT s.uid AS resource_uid, 'setting' AS resource_kind, s.id AS resource_id, 'project ' || s.account AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'OS Login is off for project ' || s.account || ': SSH access rests on metadata keys' AS reason,
       json_object('enable_oslogin', CAST(s.value AS INTEGER),
                   'project_ssh_keys', json_extract(s.extra, '$.ssh_key_count')) AS evidence
FROM settings AS s
WHERE s.provider = 'gcp' AND s.id = 'os_login' AND CAST(s.value AS INTEGER) = 0
