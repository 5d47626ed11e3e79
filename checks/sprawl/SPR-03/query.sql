SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'volume is ' || v.state || ' (attached to nothing), ' || COALESCE(CAST(v.size_gb AS INTEGER), '?') || ' GiB'
         || CASE WHEN v.encrypted = 0 THEN ', unencrypted' ELSE '' END AS reason,
       json_object('state', v.state, 'size_gb', v.size_gb, 'encrypted', v.encrypted, 'created_at', v.created_at) AS evidence
FROM volumes AS v
WHERE v.provider IN ('aws', 'azure', 'gcp', 'libvirt') AND v.state = 'available'
