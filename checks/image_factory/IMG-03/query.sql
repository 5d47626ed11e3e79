-- The collector lists each account's own images. An instance's image found under some synced account has a
-- known owner; one found nowhere (while the images task succeeded for the instance's scope) belongs to an
-- account outside the estate, so it cannot be shown to come from an approved owner. An image approved in
-- the signed image registry (and not revoked) is approved whoever owns it.
WITH cand AS (
  SELECT i.uid, i.image_id,
         (SELECT im.owner FROM images AS im
           WHERE im.provider = 'aws' AND im.id = i.image_id AND im.region = i.region LIMIT 1) AS owner
  FROM instances AS i
  WHERE i.provider = 'aws' AND i.state NOT IN ('terminated', 'shutting-down') AND i.image_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM scope_status AS st
                 WHERE st.scope_id = i.scope_id AND st.task = 'images' AND st.last_success_at IS NOT NULL)
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || c.image_id || CASE WHEN c.owner IS NULL
         THEN ', an image of no synced account (owner unknown)'
         ELSE ' owned by ' || c.owner || ', not an approved owner' END AS reason,
       json_object('image_id', c.image_id, 'image_owner', c.owner) AS evidence
FROM cand AS c JOIN instances AS i ON i.uid = c.uid
WHERE NOT EXISTS (SELECT 1 FROM image_registry AS r
                   WHERE r.action = 'approve' AND r.provider = 'aws' AND r.image_id = c.image_id
                     AND NOT EXISTS (SELECT 1 FROM image_registry AS x
                                      WHERE x.action = 'revoke' AND x.revokes = r.entry_id))
 AND ((c.owner IS NULL AND :fail_unknown_owner)
   OR (c.owner IS NOT NULL AND c.owner <> i.account
       AND c.owner NOT IN (SELECT value FROM json_each(:approved_owners))))
