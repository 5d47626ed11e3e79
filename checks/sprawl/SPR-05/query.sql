SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'VM in ' || i.region || ', not one of the approved regions (' || (SELECT group_concat(value, ', ') FROM json_each(:approved_regions)) || ')' AS reason,
       json_object('state', i.state, 'launched_at', i.created_at) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state NOT IN ('terminated', 'shutting-down')
  AND json_array_length(:approved_regions) > 0
  AND i.region NOT IN (SELECT value FROM json_each(:approved_regions))
