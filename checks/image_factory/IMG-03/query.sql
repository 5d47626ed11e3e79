-- The collector lists each account's own images. An instance's image found under some synced account has a
-- known owner; one found nowhere (while the images task succeeded for the instance's scope) belongs to an
-- account outside the estate, so it cannot be shown to come from an approved owner. An image approved in
-- the signed image registry (and not revoked) is approved whoever owns it. AMI ids are unique across regions.
-- Uncorrelated IN (...) lists and a materialised owner map keep this to one pass over the instances.
WITH owners AS (
  SELECT id, MIN(owner) AS owner FROM images WHERE provider = 'aws' AND owner IS NOT NULL AND owner <> ''
  GROUP BY id
),
cand AS (
  SELECT i.uid, i.image_id, o.owner
  FROM instances AS i LEFT JOIN owners AS o ON o.id = i.image_id
  WHERE i.provider = 'aws' AND i.state NOT IN ('terminated', 'shutting-down') AND i.image_id IS NOT NULL
    AND +i.scope_id IN (SELECT scope_id FROM scope_status WHERE task = 'images' AND last_success_at IS NOT NULL)
    AND (o.owner IS NULL OR o.owner <> i.account)
    AND i.image_id NOT IN (
      SELECT r.image_id FROM image_registry AS r
      WHERE r.action = 'approve' AND r.provider = 'aws'
        AND r.entry_id NOT IN (SELECT revokes FROM image_registry WHERE action = 'revoke' AND revokes IS NOT NULL))
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || c.image_id || CASE WHEN c.owner IS NULL
         THEN ', an image of no synced account (owner unknown)'
         ELSE ' owned by ' || c.owner || ', not an approved owner' END AS reason,
       json_object('image_id', c.image_id, 'image_owner', c.owner) AS evidence
FROM cand AS c JOIN instances AS i ON i.uid = c.uid
WHERE (c.owner IS NULL AND :fail_unknown_owner)
   OR (c.owner IS NOT NULL AND c.owner NOT IN (SELECT value FROM json_each(:approved_owners)))
