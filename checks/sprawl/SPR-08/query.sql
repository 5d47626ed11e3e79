SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'expiry tag ' || :expiry_tag || '=' || json_extract(i.tags, '$."' || :expiry_tag || '"') || ' has passed and the VM still runs' AS reason,
       json_object('expiry', json_extract(i.tags, '$."' || :expiry_tag || '"')) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state IN ('running', 'pending')
  AND json_extract(i.tags, '$."' || :expiry_tag || '"') IS NOT NULL
  AND date(json_extract(i.tags, '$."' || :expiry_tag || '"')) < date(:now)
