-- Tag keys compare case-insensitively: AWS estates say "Environment", GCP labels say "env".
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'tagged ' || MIN(t.key || '=' || t.value) || ' but termination protection is off' AS reason,
       json_object('deletion_protection', i.deletion_protection) AS evidence
FROM instances AS i, json_each(i.tags) AS t
WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
  AND i.deletion_protection = 0
  AND lower(t.key) IN (SELECT lower(value) FROM json_each(:prod_tags))
  AND lower(t.value) IN (SELECT lower(value) FROM json_each(:prod_values))
-- One row per VM (the first of its matching tags, by text). By row_id, not uid: the VMs are read in table order (by uid, one random table read per VM).
GROUP BY i.row_id
