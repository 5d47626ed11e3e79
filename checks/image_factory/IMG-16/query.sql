SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       'image storage is not encrypted' AS reason,
       json_object('encrypted', im.encrypted) AS evidence
FROM images AS im
WHERE im.provider <> 'aws' AND im.encrypted = 0
