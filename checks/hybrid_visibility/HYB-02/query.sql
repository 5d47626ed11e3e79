-- The patch collector writes a 'patch_api' setting per scope: enabled, or not enabled (a known state of the
-- scope, not a failed task). Not enabled means every patch check there has nothing to judge.
SELECT s.uid AS resource_uid, 'setting' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'patch state unknown: ' || json_extract(s.value, '$.api') || ' is not enabled' AS reason,
       json_object('api', json_extract(s.value, '$.api'), 'enabled', json_extract(s.value, '$.enabled')) AS evidence
FROM settings AS s
WHERE s.id = 'patch_api' AND s.provider IN ('aws', 'gcp') AND json_extract(s.value, '$.enabled') = 0
