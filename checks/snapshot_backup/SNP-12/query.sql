SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'encrypted with ' || COALESCE(json_extract(v.extra, '$.encryption'), 'an unknown key type')
         || ', not a customer-managed key' || CASE WHEN v.state = 'available' THEN ' (unattached)' ELSE '' END AS reason,
       json_object('encryption', json_extract(v.extra, '$.encryption'), 'disk_encryption_set', v.kms_key,
                   'state', v.state) AS evidence
FROM volumes AS v
WHERE v.provider = 'azure' AND COALESCE(v.encryption_type, '') <> 'cmk'
  AND (:include_unattached = 1 OR v.state <> 'available')
