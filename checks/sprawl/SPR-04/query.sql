-- A tag key is present when the (lower-cased) tags JSON holds "key": as an object key. This check reads every
-- VM, so it uses a string test rather than json_each over each VM's tags (many times cheaper), and no
-- GROUP BY, so the table is read in storage order.
WITH req AS (SELECT lower(value) AS k, value AS key FROM json_each(:required_tags)),
vms AS (
  SELECT i.uid, i.id, i.name, i.provider, i.account, i.region, i.tags, lower(COALESCE(i.tags, '')) AS lt
  FROM instances AS i
  WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
),
missing AS (
  SELECT v.*, (SELECT json_group_array(req.key) FROM req WHERE instr(v.lt, '"' || req.k || '":') = 0) AS keys
  FROM vms AS v
  WHERE EXISTS (SELECT 1 FROM req WHERE instr(v.lt, '"' || req.k || '":') = 0)
)
SELECT m.uid AS resource_uid, 'instance' AS resource_kind, m.id AS resource_id, m.name AS resource_name,
       m.provider, m.account, m.region, m.tags,
       'missing tag(s): ' || (SELECT group_concat(value, ', ') FROM json_each(m.keys)) AS reason,
       json_object('missing', json(m.keys)) AS evidence
FROM missing AS m
