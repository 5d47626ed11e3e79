SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'disk uses a Google-managed key (no CMEK or CSEK)' AS reason,
       json_object('encryption_type', v.encryption_type, 'state', v.state) AS evidence
FROM volumes AS v
WHERE v.provider = 'gcp' AND v.encryption_type = 'platform'
  AND (json_array_length(:required_labels) = 0
       OR EXISTS (SELECT 1 FROM json_each(:required_labels) AS l WHERE json_extract(v.tags, '$."' || l.value || '"') IS NOT NULL))
