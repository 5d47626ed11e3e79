-- Rows are VMs or images (resource_kind says which): a Trivy report can be about either.
WITH res AS (
  SELECT r.uid, 'instance' AS kind, r.id, r.name, r.provider, r.account, r.region, r.tags FROM instances AS r
  UNION ALL
  SELECT r.uid, 'image', r.id, r.name, r.provider, r.account, r.region, r.tags FROM images AS r
), open_vulns AS (
  SELECT v.resource_uid, COUNT(*) AS n, MIN(v.first_seen) AS oldest,
         json_group_array(v.vuln_id) AS ids
  FROM vulnerabilities AS v
  WHERE v.fixed_at IS NULL AND v.resource_uid IS NOT NULL
    AND v.severity IN (SELECT value FROM json_each(:severities))
    AND julianday(:now) - julianday(v.first_seen) >= :min_age_days
  GROUP BY v.resource_uid
)
SELECT res.uid AS resource_uid, res.kind AS resource_kind, res.id AS resource_id, res.name AS resource_name,
       res.provider, res.account, res.region, res.tags,
       o.n || ' open vulnerabilit' || CASE WHEN o.n = 1 THEN 'y' ELSE 'ies' END || ' of severity '
         || (SELECT group_concat(value, '/') FROM json_each(:severities)) || ', oldest first seen ' || o.oldest
         AS reason,
       json_object('count', o.n, 'oldest_first_seen', o.oldest, 'ids', json(o.ids)) AS evidence
FROM open_vulns AS o JOIN res ON res.uid = o.resource_uid
