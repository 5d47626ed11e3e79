SELECT s.uid AS resource_uid, 'region' AS resource_kind, s.region AS resource_id,
       s.region AS resource_name, s.provider, s.account, s.region,
       'account default HttpTokens is ' || lower(CASE WHEN json_valid(s.value) AND json_type(s.value) = 'object'
         THEN COALESCE(json_extract(s.value, '$.HttpTokens'), json_extract(s.value, '$.http_tokens'), 'no-preference')
         ELSE trim(COALESCE(s.value, ''), '"') END) || ', not required' AS reason,
       json_object('setting', s.id, 'value', s.value) AS evidence
FROM settings AS s
WHERE s.provider = 'aws' AND s.id = 'imds_defaults' AND s.value IS NOT NULL
  AND lower(CASE WHEN json_valid(s.value) AND json_type(s.value) = 'object'
         THEN COALESCE(json_extract(s.value, '$.HttpTokens'), json_extract(s.value, '$.http_tokens'), 'no-preference')
         ELSE trim(COALESCE(s.value, ''), '"') END) <> 'required'
