WITH missing AS (
  SELECT i.uid, json_group_array(r.value) AS keys
  FROM instances AS i, json_each(:required_tags) AS r
  WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
    AND NOT EXISTS (SELECT 1 FROM json_each(COALESCE(i.tags, '{}')) AS t WHERE lower(t.key) = lower(r.value))
  GROUP BY i.uid
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'missing tag(s): ' || (SELECT group_concat(value, ', ') FROM json_each(m.keys)) AS reason,
       json_object('missing', json(m.keys)) AS evidence
FROM missing AS m JOIN instances AS i ON i.uid = m.uid
