SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'stopped for ' || CAST(julianday(:now) - julianday(i.state_changed_at) AS INTEGER) || ' days (since ' || i.state_changed_at || '), limit ' || :max_stopped_days || ' days' AS reason,
       json_object('stopped_at', i.state_changed_at) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp')
  AND i.state = 'stopped'
  AND i.state_changed_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_stopped_days || ' days')
  AND date(json_extract(i.tags, '$."' || :expiry_tag || '"')) IS NULL
