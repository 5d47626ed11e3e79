SELECT s.uid AS resource_uid, 'region' AS resource_kind, s.region AS resource_id,
       s.region AS resource_name, s.provider, s.account, s.region,
       'AMI Block Public Access is ' || COALESCE(trim(s.value, '"'), 'unset') || ' in ' || s.account || '/' || s.region AS reason,
       json_object('setting', s.id, 'value', s.value) AS evidence
FROM settings AS s
WHERE s.provider = 'aws' AND s.id = 'image_block_public_access' AND s.value IS NOT NULL
  AND lower(trim(COALESCE(s.value, 'unblocked'), '"')) <> 'block-new-sharing'
