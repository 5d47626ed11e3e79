-- A required tag is an entry of :required_tags; "env|environment" accepts either key. A key is present when
-- the tags JSON holds "key": as an object key. This check reads every VM, so it uses LIKE (case-insensitive
-- for ASCII, no copy of the text; % and _ in keys escaped) rather than json_each over each VM's tags, and no
-- GROUP BY, so the table is read in storage order.
WITH RECURSIVE req(n, rest, alt) AS (
  SELECT key, value || '|', NULL FROM json_each(:required_tags)
  UNION ALL
  SELECT n, substr(rest, instr(rest, '|') + 1), substr(rest, 1, instr(rest, '|') - 1)
  FROM req WHERE rest <> ''
),
alts AS (
  SELECT n, '%"' || replace(replace(replace(alt, '\', '\\'), '%', '\%'), '_', '\_') || '":%' AS pat
  FROM req WHERE alt IS NOT NULL AND alt <> ''
),
names AS (SELECT key AS n, value AS label FROM json_each(:required_tags)),
vms AS (
  SELECT i.uid, i.id, i.name, i.provider, i.account, i.region, i.tags, COALESCE(i.tags, '') AS lt
  FROM instances AS i
  WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
),
missing AS (
  SELECT v.*,
         (SELECT json_group_array(names.label) FROM names
          WHERE NOT EXISTS (SELECT 1 FROM alts WHERE alts.n = names.n AND v.lt LIKE alts.pat ESCAPE '\'))
           AS keys
  FROM vms AS v
  WHERE EXISTS (SELECT 1 FROM names
                WHERE NOT EXISTS (SELECT 1 FROM alts
                                  WHERE alts.n = names.n AND v.lt LIKE alts.pat ESCAPE '\'))
)
SELECT m.uid AS resource_uid, 'instance' AS resource_kind, m.id AS resource_id, m.name AS resource_name,
       m.provider, m.account, m.region, m.tags,
       'missing tag(s): ' || (SELECT group_concat(value, ', ') FROM json_each(m.keys)) AS reason,
       json_object('missing', json(m.keys)) AS evidence
FROM missing AS m
