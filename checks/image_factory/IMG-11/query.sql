-- VMs whose image's latest approval is not revoked, checked by checks/logic.py (signature, the entry before it
-- in the chain, the audit record, as `vmwb images verify` does). One row per approval in force that some VM
-- uses: resource_kind 'registry_entry', evidence = the verification inputs. Python verifies each approval
-- once and fetches the VMs of a failing one only; most approvals verify, so most VMs are never read.
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
),
inforce AS MATERIALIZED (
  SELECT a.provider, a.image_id, a.entry_id,
         ',"entry":' || json_object('entry_id', a.entry_id, 'action', a.action, 'provider', a.provider, 'account', a.account, 'image_id', a.image_id, 'image_uid', a.image_uid, 'name', a.name, 'image_created_at', a.image_created_at, 'digest', a.digest, 'reason', a.reason, 'actor', a.actor, 'signed_at', a.signed_at, 'revokes', a.revokes, 'prev_hash', a.prev_hash, 'key_id', a.key_id, 'payload', a.payload, 'signature', a.signature)
         || ',"prev":' || COALESCE((SELECT json_object('entry_id', p.entry_id, 'action', p.action, 'provider', p.provider, 'account', p.account, 'image_id', p.image_id, 'image_uid', p.image_uid, 'name', p.name, 'image_created_at', p.image_created_at, 'digest', p.digest, 'reason', p.reason, 'actor', p.actor, 'signed_at', p.signed_at, 'revokes', p.revokes, 'prev_hash', p.prev_hash, 'key_id', p.key_id, 'payload', p.payload, 'signature', p.signature) FROM image_registry AS p WHERE p.entry_id < a.entry_id ORDER BY p.entry_id DESC LIMIT 1), 'null')
         || ',"audit":' || CASE WHEN u.seq IS NOT NULL THEN json_object('action', u.action, 'payload_sha256', u.sha) ELSE 'null' END
         || '}' AS detail
  FROM image_registry AS a LEFT JOIN audit AS u ON u.entry_id = a.entry_id
  WHERE a.action = 'approve'
    AND a.entry_id = (SELECT MAX(b.entry_id) FROM image_registry AS b
                       WHERE b.action = 'approve' AND b.provider = a.provider AND b.image_id = a.image_id)
    AND NOT EXISTS (SELECT 1 FROM image_registry AS x WHERE x.action = 'revoke' AND x.revokes = a.entry_id)
),
live AS MATERIALIZED (
  SELECT DISTINCT i.provider, i.image_id FROM instances AS i
  WHERE i.state NOT IN ('terminated', 'shutting-down')
)
SELECT 'registry_entry:' || f.entry_id AS resource_uid, 'registry_entry' AS resource_kind,
       f.image_id AS resource_id, NULL AS resource_name, f.provider, '' AS account, '' AS region,
       'launched from ' || f.image_id AS reason,
       '{"image_id":' || json_quote(f.image_id) || f.detail AS evidence
FROM inforce AS f JOIN live AS v ON v.provider = f.provider AND v.image_id = f.image_id
