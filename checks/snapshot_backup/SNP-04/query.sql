SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'snapshot is not encrypted' || COALESCE(' (from ' || s.source_volume_id || ')', '') AS reason,
       json_object('encrypted', s.encrypted, 'source_volume_id', s.source_volume_id) AS evidence
FROM snapshots AS s
WHERE s.provider = 'aws' AND s.encrypted = 0
