SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'tagged ' || :prod_tag || '=' || json_extract(i.tags, '$."' || :prod_tag || '"') || ' but termination protection is off' AS reason,
       json_object('deletion_protection', i.deletion_protection) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
  AND i.deletion_protection = 0
  AND lower(json_extract(i.tags, '$."' || :prod_tag || '"')) IN (SELECT lower(value) FROM json_each(:prod_values))
