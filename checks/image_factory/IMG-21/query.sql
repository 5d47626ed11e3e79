SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       -- The build date, not an age in days: a reason that changed every scan would be a "changed" event each time.
       'launched from image ' || im.id || ' built ' || date(im.created_at)
         || ', older than the ' || :max_image_age_days || '-day policy' AS reason,
       json_object('image_id', im.id, 'image_created_at', im.created_at) AS evidence
FROM instances AS i
JOIN images AS im ON im.provider = i.provider AND im.account = i.account AND im.region = i.region AND im.id = i.image_id
WHERE i.provider IN ('aws', 'gcp') AND i.state = 'running' AND im.created_at IS NOT NULL
  AND julianday(:now) - julianday(im.created_at) > :max_image_age_days
