-- A tag key is present when the tags JSON holds "key": as an object key. This check reads every VM, so it
-- uses LIKE (case-insensitive for ASCII, no copy of the text; % and _ in keys escaped) rather than json_each
-- over each VM's tags, and no GROUP BY, so the table is read in storage order.
WITH req AS (
  SELECT value AS key,
         '%"' || replace(replace(replace(value, '\', '\\'), '%', '\%'), '_', '\_') || '":%' AS pat
  FROM json_each(:required_tags)
),
vms AS (
  SELECT i.uid, i.id, i.name, i.provider, i.account, i.region, i.tags, COALESCE(i.tags, '') AS lt
  FROM instances AS i
  WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
),
missing AS (
  SELECT v.*, (SELECT json_group_array(req.key) FROM req WHERE v.lt NOT LIKE req.pat ESCAPE '\') AS keys
  FROM vms AS v
  WHERE EXISTS (SELECT 1 FROM req WHERE v.lt NOT LIKE req.pat ESCAPE '\')
)
SELECT m.uid AS resource_uid, 'instance' AS resource_kind, m.id AS resource_id, m.name AS resource_name,
       m.provider, m.account, m.region, m.tags,
       'missing tag(s): ' || (SELECT group_concat(value, ', ') FROM json_each(m.keys)) AS reason,
       json_object('missing', json(m.keys)) AS evidence
FROM missing AS m
