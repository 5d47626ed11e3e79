SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'snapshot is ' || CAST(julianday(:now) - julianday(s.created_at) AS INTEGER) || ' days old (created ' || s.created_at || '), retention ' || CASE WHEN s.provider IN ('libvirt', 'vsphere') THEN :hypervisor_max_age_hours || ' hours' ELSE :retention_days || ' days' END AS reason,
       json_object('created_at', s.created_at) AS evidence
FROM snapshots AS s
WHERE (s.provider IN ('aws', 'gcp') AND s.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :retention_days || ' days'))
   OR (s.provider IN ('libvirt', 'vsphere')
       AND s.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :hypervisor_max_age_hours || ' hours'))
