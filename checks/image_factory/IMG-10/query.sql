-- Any approval at all counts here (a revoked one is IMG-17's, an unverifiable one IMG-11's), so each VM is
-- reported by exactly one of the three registry checks. The images are judged, not the VMs: the distinct
-- (image, provider) pairs in use are one walk of the instances' (image_id, provider) index, each is looked
-- up among the approvals once, and only the VMs of an unapproved image are read.
WITH approved AS MATERIALIZED (
  SELECT DISTINCT provider, image_id FROM image_registry WHERE action = 'approve'
),
used AS MATERIALIZED (
  SELECT DISTINCT image_id, provider FROM instances WHERE image_id > ''
),
unapproved AS MATERIALIZED (
  SELECT u.provider, u.image_id FROM used AS u
  WHERE NOT EXISTS (SELECT 1 FROM approved AS a WHERE a.image_id = u.image_id AND a.provider = u.provider)
    AND u.image_id NOT IN (SELECT value FROM json_each(:exempt_images))
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || i.image_id || ', which has no approval in the image registry' AS reason,
       json_object('image_id', i.image_id) AS evidence
FROM unapproved AS u JOIN instances AS i ON i.image_id = u.image_id AND i.provider = u.provider
WHERE i.state NOT IN ('terminated', 'shutting-down')
