SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'disk not encrypted (' || v.state || ', ' || COALESCE(CAST(v.size_gb AS INTEGER), '?') || ' GiB)' AS reason,
       json_object('encryption_type', v.encryption_type, 'state', v.state, 'attached_to', json(v.attached_to)) AS evidence
FROM volumes AS v
WHERE v.provider IN ('libvirt', 'vsphere')
  AND v.encrypted = 0
  AND COALESCE(json_extract(v.extra, '$.media'), 0) = 0  -- installation ISOs and driver floppies hold no data
