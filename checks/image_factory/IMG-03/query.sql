SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || im.id || ' owned by ' || im.owner || ', not an approved owner' AS reason,
       json_object('image_id', im.id, 'image_owner', im.owner, 'image_name', im.name) AS evidence
FROM images AS im
JOIN instances AS i ON i.image_id = im.id AND i.region = im.region AND i.provider = im.provider
WHERE im.provider = 'aws' AND im.owner IS NOT NULL AND im.owner <> ''
  AND im.owner <> i.account
  AND im.owner NOT IN (SELECT value FROM json_each(:approved_owners))
  AND i.state NOT IN ('terminated', 'shutting-down')
GROUP BY i.uid
