SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       'image is public' || CASE WHEN EXISTS (SELECT 1 FROM grants AS g WHERE g.resource_uid = im.uid
                                               AND g.grantee_kind = 'public')
                                 THEN ' (granted to everyone)' ELSE '' END AS reason,
       json_object('public', im.public, 'owner', im.owner) AS evidence
FROM images AS im
WHERE im.provider = 'azure' AND (im.owner IS NULL OR im.owner = '' OR im.owner = im.account)
  AND (im.public = 1 OR EXISTS (SELECT 1 FROM grants AS g WHERE g.resource_uid = im.uid
                                 AND g.grantee_kind IN ('public', 'all_authenticated')))
