SELECT s.uid AS resource_uid, 'setting' AS resource_kind, s.id AS resource_id, 'project ' || s.account AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'OS Login 2FA is off for project ' || s.account
         || CASE WHEN CAST(o.value AS INTEGER) = 1 THEN '' ELSE ' (and OS Login itself is off)' END AS reason,
       json_object('enable_oslogin_2fa', CAST(s.value AS INTEGER), 'enable_oslogin', CAST(o.value AS INTEGER)) AS evidence
FROM settings AS s
LEFT JOIN settings AS o ON o.scope_id = s.scope_id AND o.id = 'os_login'
WHERE s.provider = 'gcp' AND s.id = 'os_login_2fa' AND CAST(s.value AS INTEGER) = 0
