SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'running for ' || CAST(julianday(:now) - julianday(i.created_at) AS INTEGER) || ' days (launched ' || i.created_at || '), limit ' || :max_age_days || ' days, no ' || :expiry_tag || ' tag' AS reason,
       json_object('launched_at', i.created_at, 'state', i.state) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp')
  AND i.state = 'running'
  AND i.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_age_days || ' days')
  AND date(json_extract(i.tags, '$."' || :expiry_tag || '"')) IS NULL
