WITH res AS (
  SELECT r.uid, 'instance' AS kind, r.id, r.name, r.provider, r.account, r.region, r.tags FROM instances AS r
  UNION ALL
  SELECT r.uid, 'image', r.id, r.name, r.provider, r.account, r.region, r.tags FROM images AS r
)
SELECT res.uid AS resource_uid, res.kind AS resource_kind, res.id AS resource_id, res.name AS resource_name,
       res.provider, res.account, res.region, res.tags,
       'hardening score ' || printf('%.1f', h.score) || '% below ' || :min_score || '% ('
         || COALESCE(h.profile, h.benchmark, 'benchmark') || ', ' || h.failed || ' rule(s) failed, scanned '
         || h.scanned_at || ')' AS reason,
       json_object('score', h.score, 'benchmark', h.benchmark, 'profile', h.profile, 'failed', h.failed,
                   'scanned_at', h.scanned_at) AS evidence
FROM hardening_scores AS h JOIN res ON res.uid = h.resource_uid
WHERE h.score IS NOT NULL AND h.score < :min_score
