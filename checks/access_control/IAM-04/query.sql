SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'runs as the default compute service account ' || COALESCE(i.profile, '')
         || CASE WHEN json_extract(i.extra, '$.full_api_access') = 1 THEN ' with the full cloud-platform scope' ELSE '' END AS reason,
       json_object('service_account', i.profile, 'full_api_access', json_extract(i.extra, '$.full_api_access')) AS evidence
FROM instances AS i
WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
  AND json_extract(i.extra, '$.default_service_account') = 1
  AND (:full_access_only = 0 OR json_extract(i.extra, '$.full_api_access') = 1)
