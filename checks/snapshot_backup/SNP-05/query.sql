SELECT s.uid AS resource_uid, 'region' AS resource_kind, s.region AS resource_id,
       s.region AS resource_name, s.provider, s.account, s.region,
       'EBS encryption by default is off in ' || s.account || '/' || s.region AS reason,
       json_object('setting', s.id, 'value', s.value) AS evidence
FROM settings AS s
WHERE s.provider = 'aws' AND s.id = 'ebs_encryption_by_default' AND s.value IS NOT NULL
  AND lower(trim(COALESCE(s.value, ''), '"')) IN ('0', 'false', 'disabled')
