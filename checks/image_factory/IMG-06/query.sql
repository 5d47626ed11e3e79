SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       trim(
         CASE WHEN lower(COALESCE(json_extract(im.tags, '$."' || :approval_tag || '"'), '')) NOT IN (SELECT lower(value) FROM json_each(:approval_values))
              THEN 'no ' || :approval_tag || ' tag; ' ELSE '' END ||
         CASE WHEN :scan_tag <> '' AND json_extract(im.tags, '$."' || :scan_tag || '"') IS NULL
              THEN 'no ' || :scan_tag || ' tag' ELSE '' END, '; ') AS reason,
       json_object('tags', json(COALESCE(im.tags, '{}'))) AS evidence
FROM images AS im
WHERE im.provider = 'aws' AND (im.owner IS NULL OR im.owner = '' OR im.owner = im.account)
  AND (lower(COALESCE(json_extract(im.tags, '$."' || :approval_tag || '"'), '')) NOT IN (SELECT lower(value) FROM json_each(:approval_values))
       OR (:scan_tag <> '' AND json_extract(im.tags, '$."' || :scan_tag || '"') IS NULL))
