-- An absent key is its vSphere 8 default: logging TRUE, log.rotateSize 2048000, log.keepOld 10; only explicit
-- values that turn logging off or unbound it fail.
WITH judged AS (
  SELECT i.row_id,
         trim(CASE WHEN upper(COALESCE(json_extract(i.extra, '$.logging.logging'), 'TRUE')) = 'FALSE' THEN 'logging off; ' ELSE '' END
           || CASE WHEN CAST(json_extract(i.extra, '$.logging."log.rotateSize"') AS INTEGER) = 0 THEN 'log.rotateSize 0 (never rotates); ' ELSE '' END
           || CASE WHEN CAST(json_extract(i.extra, '$.logging."log.keepOld"') AS INTEGER) > :max_keep_old
                   THEN 'log.keepOld ' || json_extract(i.extra, '$.logging."log.keepOld"') || ' above ' || :max_keep_old ELSE '' END, '; ') AS bad
  FROM instances AS i
  WHERE i.provider = 'vsphere' AND json_type(i.extra, '$.logging') = 'object'
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       j.bad AS reason,
       json_extract(i.extra, '$.logging') AS evidence
FROM instances AS i JOIN judged AS j ON j.row_id = i.row_id
WHERE j.bad <> ''
