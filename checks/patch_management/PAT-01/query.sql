SELECT ps.instance_uid AS resource_uid, 'instance' AS resource_kind, ps.id AS resource_id,
       COALESCE(i.name, '') AS resource_name, ps.provider, ps.account, ps.region, i.tags,
       COALESCE(ps.missing_count, 0) || ' missing, ' || COALESCE(ps.failed_count, 0) || ' failed'
         || CASE WHEN ps.critical_missing > 0 THEN ' (' || ps.critical_missing || ' critical)' ELSE '' END
         || ', last scan ' || COALESCE(ps.last_scan_at, 'never') AS reason,
       json_object('missing', ps.missing_count, 'failed', ps.failed_count, 'critical_missing', ps.critical_missing,
                   'security_missing', ps.security_missing, 'last_scan_at', ps.last_scan_at) AS evidence
FROM patch_states AS ps LEFT JOIN instances AS i ON i.uid = ps.instance_uid
WHERE ps.provider = 'aws' AND (ps.missing_count > 0 OR ps.failed_count > 0)
