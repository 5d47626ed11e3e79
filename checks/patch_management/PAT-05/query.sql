SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || im.id || COALESCE(' (' || NULLIF(im.name, '') || ')', '') || ', deprecated since ' || im.deprecated_at AS reason,
       json_object('image_id', im.id, 'deprecated_at', im.deprecated_at) AS evidence
FROM images AS im
JOIN instances AS i ON i.image_id = im.id AND i.provider = im.provider
WHERE im.provider = 'aws' AND im.deprecated_at IS NOT NULL AND im.deprecated_at <= :now
  AND i.state NOT IN ('terminated', 'shutting-down')
