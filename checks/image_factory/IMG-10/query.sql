-- Any approval at all counts here (a revoked one is IMG-17's, an unverifiable one IMG-11's), so each VM is
-- reported by exactly one of the three registry checks. The approved images are listed once (with an
-- automatic index) rather than looked up in the registry, index then table row, once per VM.
WITH approved AS MATERIALIZED (
  SELECT DISTINCT provider, image_id FROM image_registry WHERE action = 'approve'
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || i.image_id || ', which has no approval in the image registry' AS reason,
       json_object('image_id', i.image_id) AS evidence
FROM instances AS i LEFT JOIN approved AS a ON a.image_id = i.image_id AND a.provider = i.provider
WHERE i.state NOT IN ('terminated', 'shutting-down') AND i.image_id IS NOT NULL AND i.image_id <> ''
  AND i.image_id NOT IN (SELECT value FROM json_each(:exempt_images))
  AND a.image_id IS NULL
