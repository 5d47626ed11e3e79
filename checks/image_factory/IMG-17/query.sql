SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || i.image_id || ', revoked by registry entry ' || rv.entry_id || ': ' || rv.reason
         AS reason,
       json_object('image_id', i.image_id, 'approval_entry', a.entry_id, 'revoked_by', rv.entry_id,
                   'revoked_at', rv.signed_at) AS evidence
FROM instances AS i
JOIN image_registry AS a ON a.action = 'approve' AND a.provider = i.provider AND a.image_id = i.image_id
JOIN image_registry AS rv ON rv.action = 'revoke' AND rv.revokes = a.entry_id
WHERE i.state NOT IN ('terminated', 'shutting-down', 'stopped', 'deallocated')
  AND a.entry_id = (SELECT MAX(b.entry_id) FROM image_registry AS b
                     WHERE b.action = 'approve' AND b.provider = a.provider AND b.image_id = a.image_id)
  AND rv.entry_id = (SELECT MIN(y.entry_id) FROM image_registry AS y WHERE y.action = 'revoke'
                      AND y.revokes = a.entry_id)
