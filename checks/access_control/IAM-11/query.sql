-- extra.os_login is the instance's own enable-oslogin (NULL: not set, the project's value applies; IAM-01).
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'instance metadata sets enable-oslogin to FALSE' AS reason,
       json_object('os_login', json_extract(i.extra, '$.os_login')) AS evidence
FROM instances AS i
WHERE i.provider = 'gcp' AND i.state <> 'terminated' AND json_extract(i.extra, '$.os_login') = 0
