-- Any approval at all counts here (a revoked one is IMG-17's, an unverifiable one IMG-11's), so each VM is
-- reported by exactly one of the three registry checks.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || i.image_id || ', which has no approval in the image registry' AS reason,
       json_object('image_id', i.image_id) AS evidence
FROM instances AS i
WHERE i.state NOT IN ('terminated', 'shutting-down') AND i.image_id IS NOT NULL AND i.image_id <> ''
  AND i.image_id NOT IN (SELECT value FROM json_each(:exempt_images))
  AND NOT EXISTS (SELECT 1 FROM image_registry AS r
                   WHERE r.action = 'approve' AND r.provider = i.provider AND r.image_id = i.image_id)
