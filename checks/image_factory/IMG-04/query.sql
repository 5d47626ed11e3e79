SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       'image is ' || CAST(julianday(:now) - julianday(im.created_at) AS INTEGER) || ' days old (created ' || im.created_at || ') and not deprecated, limit ' || :max_age_days || ' days' AS reason,
       json_object('created_at', im.created_at) AS evidence
FROM images AS im
WHERE im.provider = 'aws' AND (im.owner IS NULL OR im.owner = '' OR im.owner = im.account)
  AND im.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_age_days || ' days')
  AND im.deprecated_at IS NULL
