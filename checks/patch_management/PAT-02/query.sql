SELECT ps.instance_uid AS resource_uid, 'instance' AS resource_kind, ps.id AS resource_id,
       COALESCE(i.name, '') AS resource_name, ps.provider, ps.account, ps.region, i.tags,
       CASE WHEN ps.last_install_at IS NULL THEN 'no patch install recorded'
            ELSE 'last patch install ' || ps.last_install_at || ' (' || CAST(julianday(:now) - julianday(ps.last_install_at) AS INTEGER) || ' days ago), window ' || :max_days || ' days'
       END AS reason,
       json_object('last_install_at', ps.last_install_at) AS evidence
FROM patch_states AS ps LEFT JOIN instances AS i ON i.uid = ps.instance_uid
WHERE ps.provider = 'aws' AND COALESCE(i.state, 'running') <> 'terminated'
  AND (ps.last_install_at IS NULL OR ps.last_install_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_days || ' days'))
