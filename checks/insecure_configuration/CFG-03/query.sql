-- Candidates only: instances whose collector stored user data (extra.user_data, base64 or plain text).
-- The Python step in checks/logic.py looks for secrets and keeps only the instances that have some.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'user data present' AS reason,
       json_object('user_data', json_extract(i.extra, '$.user_data')) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state <> 'terminated'
  AND json_extract(i.extra, '$.user_data') IS NOT NULL
