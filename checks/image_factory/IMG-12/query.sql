-- Every registry entry is a candidate (checks/logic.py keeps those that fail verification), plus every approval
-- or revocation the audit log recorded whose registry entry is gone.
-- The audit log's approve/revoke records are read once (not once per registry entry).
-- The audit log is read once: the latest approve/revoke record per entry id (its MAX(seq), then that
-- record's columns), joined by entry id. vmwb writes entry ids as JSON integers; a record with any other type
-- was not written by vmwb and counts as no record (the entry then fails verification).
WITH latest AS MATERIALIZED (
  SELECT CAST(json_extract(l.details, '$.entry_id') AS INTEGER) AS entry_id, MAX(l.seq) AS seq
  FROM audit_log AS l
  WHERE l.action IN ('approve', 'revoke') AND json_type(l.details, '$.entry_id') = 'integer'
  GROUP BY 1
),
audit AS MATERIALIZED (
  SELECT m.entry_id, m.seq, l.action, json_extract(l.details, '$.payload_sha256') AS sha
  FROM latest AS m JOIN audit_log AS l ON l.seq = m.seq
)
SELECT COALESCE(r.image_uid, r.provider || ':' || COALESCE(r.account, '') || ':global:image:' || r.image_id)
         AS resource_uid,
       'image' AS resource_kind, r.image_id AS resource_id, r.name AS resource_name, r.provider,
       COALESCE(im.account, r.account, '') AS account, COALESCE(im.region, 'global') AS region,
       im.tags AS tags,
       r.action || ' entry ' || r.entry_id AS reason,
       json_object('image_id', r.image_id, 'entry', json_object('entry_id', r.entry_id, 'action', r.action, 'provider', r.provider, 'account', r.account, 'image_id', r.image_id, 'image_uid', r.image_uid, 'name', r.name, 'image_created_at', r.image_created_at, 'digest', r.digest, 'reason', r.reason, 'actor', r.actor, 'signed_at', r.signed_at, 'revokes', r.revokes, 'prev_hash', r.prev_hash, 'key_id', r.key_id, 'payload', r.payload, 'signature', r.signature),
                   'prev', json((SELECT json_object('entry_id', p.entry_id, 'action', p.action, 'provider', p.provider, 'account', p.account, 'image_id', p.image_id, 'image_uid', p.image_uid, 'name', p.name, 'image_created_at', p.image_created_at, 'digest', p.digest, 'reason', p.reason, 'actor', p.actor, 'signed_at', p.signed_at, 'revokes', p.revokes, 'prev_hash', p.prev_hash, 'key_id', p.key_id, 'payload', p.payload, 'signature', p.signature) FROM image_registry AS p WHERE p.entry_id < r.entry_id ORDER BY p.entry_id DESC LIMIT 1)),
                   'audit', CASE WHEN u.seq IS NOT NULL THEN json_object('action', u.action, 'payload_sha256', u.sha) END) AS evidence
FROM image_registry AS r
LEFT JOIN images AS im ON im.uid = r.image_uid
LEFT JOIN audit AS u ON u.entry_id = r.entry_id
UNION ALL
SELECT l.target AS resource_uid, 'image' AS resource_kind,
       json_extract(l.details, '$.image_id') AS resource_id, im.name AS resource_name,
       COALESCE(json_extract(l.details, '$.provider'), im.provider, '') AS provider,
       COALESCE(im.account, '') AS account, COALESCE(im.region, 'global') AS region, im.tags AS tags,
       'registry entry ' || json_extract(l.details, '$.entry_id') || ' (' || l.action || ' by ' || l.actor
         || ') is in the audit log but was deleted from the registry' AS reason,
       json_object('deleted', 1, 'entry_id', json_extract(l.details, '$.entry_id')) AS evidence
FROM audit_log AS l
LEFT JOIN images AS im ON im.uid = l.target
WHERE l.action IN ('approve', 'revoke')
  AND NOT EXISTS (SELECT 1 FROM image_registry AS r
                   WHERE r.entry_id = json_extract(l.details, '$.entry_id'))
