WITH cur AS (
  SELECT ps.*,
         (SELECT MIN(h.at) FROM patch_history AS h
           WHERE h.instance_uid = ps.instance_uid AND h.critical_missing > 0
             AND h.at > COALESCE((SELECT MAX(h2.at) FROM patch_history AS h2
                                   WHERE h2.instance_uid = ps.instance_uid
                                     AND COALESCE(h2.critical_missing, 0) = 0), '')) AS since
  FROM patch_states AS ps
  WHERE ps.provider = 'aws' AND ps.critical_missing > 0
)
SELECT c.instance_uid AS resource_uid, 'instance' AS resource_kind, c.id AS resource_id,
       COALESCE(i.name, '') AS resource_name, c.provider, c.account, c.region, i.tags,
       c.critical_missing || ' critical patch(es) missing since ' || COALESCE(c.since, c.first_seen)
         || ' (' || CAST(julianday(:now) - julianday(COALESCE(c.since, c.first_seen)) AS INTEGER) || ' days), window ' || :max_days || ' days' AS reason,
       json_object('critical_missing', c.critical_missing, 'since', COALESCE(c.since, c.first_seen)) AS evidence
FROM cur AS c LEFT JOIN instances AS i ON i.uid = c.instance_uid
WHERE COALESCE(c.since, c.first_seen) < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_days || ' days')
