SELECT s.uid AS resource_uid, 'region' AS resource_kind, s.region AS resource_id,
       s.region AS resource_name, s.provider, s.account, s.region,
       'EC2 serial console access is enabled in ' || s.account || '/' || s.region AS reason,
       json_object('setting', s.id, 'value', s.value) AS evidence
FROM settings AS s
WHERE s.provider = 'aws' AND s.id = 'serial_console_access'
  AND lower(trim(COALESCE(s.value, ''), '"')) IN ('1', 'true', 'enabled')
