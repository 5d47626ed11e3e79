-- CAT I = a failed rule of high severity that carries a STIG id (V-/SV- ident or a STIG rule reference).
WITH res AS (
  SELECT r.uid, 'instance' AS kind, r.id, r.name, r.provider, r.account, r.region, r.tags FROM instances AS r
  UNION ALL
  SELECT r.uid, 'image', r.id, r.name, r.provider, r.account, r.region, r.tags FROM images AS r
), cat1 AS (
  SELECT h.resource_uid, COUNT(*) AS n,
         json_group_array(json_object('rule', h.rule_id, 'stig', json(h.stig_ids), 'cce', json(h.cce_ids)))
           AS rules
  FROM hardening_results AS h
  WHERE h.result IN ('fail', 'error') AND h.severity = 'high' AND h.resource_uid IS NOT NULL
    AND json_array_length(COALESCE(h.stig_ids, '[]')) > 0
  GROUP BY h.resource_uid
)
SELECT res.uid AS resource_uid, res.kind AS resource_kind, res.id AS resource_id, res.name AS resource_name,
       res.provider, res.account, res.region, res.tags,
       c.n || ' STIG CAT I rule(s) failing' AS reason,
       json_object('rules', json(c.rules)) AS evidence
FROM cat1 AS c JOIN res ON res.uid = c.resource_uid
