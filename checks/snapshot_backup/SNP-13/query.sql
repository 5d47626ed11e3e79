SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'volume is not encrypted (' || COALESCE(v.state, '?') || CASE WHEN v.state = 'in-use'
         THEN ', attached to ' || COALESCE((SELECT group_concat(value, ', ') FROM json_each(v.attached_to)), '?') ELSE '' END || ')' AS reason,
       json_object('state', v.state, 'attached_to', json(v.attached_to), 'size_gb', v.size_gb) AS evidence
FROM volumes AS v
WHERE v.provider = 'aws' AND v.encrypted = 0
