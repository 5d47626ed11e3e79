SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'labelled ' || :label || '=' || json_extract(i.tags, '$."' || :label || '"') || ' but not a Confidential VM' AS reason,
       json_object('confidential_compute', json_extract(i.extra, '$.confidential_compute'),
                   'machine_type', i.instance_type) AS evidence
FROM instances AS i
WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
  AND COALESCE(json_extract(i.extra, '$.confidential_compute'), 0) = 0
  AND lower(json_extract(i.tags, '$."' || :label || '"')) IN (SELECT lower(value) FROM json_each(:sensitive_values))
