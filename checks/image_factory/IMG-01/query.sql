SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       'AMI owned by this account is launchable by everyone' AS reason,
       json_object('public', im.public, 'owner', im.owner) AS evidence
FROM images AS im
WHERE im.provider = 'aws' AND (im.owner IS NULL OR im.owner = '' OR im.owner = im.account)
  AND (im.public = 1 OR im.uid IN (SELECT g.resource_uid FROM grants AS g WHERE g.grantee_kind = 'public'))
