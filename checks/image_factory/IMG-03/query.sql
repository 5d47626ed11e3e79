-- The collector lists each account's own images. An instance's image found under some synced account has a
-- known owner; one found nowhere (while the images task succeeded for the instance's scope) belongs to an
-- account outside the estate, so it cannot be shown to come from an approved owner. An image approved in
-- the signed image registry (and not revoked) is approved whoever owns it. AMI ids are unique across regions.
-- The images are judged first (the distinct AMIs in use are one walk of the (image_id, provider) index),
-- and only the VMs of a suspect image are read, to compare its owner with each VM's account.
WITH unapproved AS MATERIALIZED (
  SELECT u.image_id
  FROM (SELECT DISTINCT image_id FROM instances WHERE image_id > '' AND provider = 'aws') AS u
  WHERE u.image_id NOT IN (
    SELECT r.image_id FROM image_registry AS r
    WHERE r.action = 'approve' AND r.provider = 'aws'
      AND r.entry_id NOT IN (SELECT revokes FROM image_registry WHERE action = 'revoke' AND revokes IS NOT NULL))
),
owned AS MATERIALIZED (
  SELECT u.image_id,
         (SELECT MIN(m.owner) FROM images AS m
           WHERE m.id = u.image_id AND m.provider = 'aws' AND m.owner IS NOT NULL AND m.owner <> '') AS owner
  FROM unapproved AS u
),
suspect AS MATERIALIZED (
  SELECT image_id, owner FROM owned
  WHERE (owner IS NULL AND :fail_unknown_owner = 1)
     OR (owner IS NOT NULL AND owner NOT IN (SELECT value FROM json_each(:approved_owners)))
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || s.image_id || CASE WHEN s.owner IS NULL
         THEN ', an image of no synced account (owner unknown)'
         ELSE ' owned by ' || s.owner || ', not an approved owner' END AS reason,
       json_object('image_id', s.image_id, 'image_owner', s.owner) AS evidence
FROM suspect AS s JOIN instances AS i ON i.image_id = s.image_id AND i.provider = 'aws'
WHERE i.state NOT IN ('terminated', 'shutting-down')
  AND (s.owner IS NULL OR s.owner <> i.account)
  AND +i.scope_id IN (SELECT scope_id FROM scope_status WHERE task = 'images' AND last_success_at IS NOT NULL)
