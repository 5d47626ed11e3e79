WITH s AS (
  SELECT i.*,
         rtrim(CASE WHEN COALESCE(i.secure_boot, 0) = 0 THEN 'Secure Boot, ' ELSE '' END
            || CASE WHEN COALESCE(i.vtpm, 0) = 0 THEN 'vTPM, ' ELSE '' END, ', ') AS off
  FROM instances AS i
  WHERE i.provider = 'azure' AND i.state NOT IN ('terminated', 'deleted')
)
SELECT s.uid AS resource_uid, 'instance' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'security type ' || COALESCE(json_extract(s.extra, '$.security_type'), 'Standard') || ', off: ' || s.off AS reason,
       json_object('security_type', json_extract(s.extra, '$.security_type'), 'secure_boot', s.secure_boot,
                   'vtpm', s.vtpm, 'hyper_v_generation', json_extract(s.extra, '$.hyper_v_generation')) AS evidence
FROM s
WHERE s.off <> ''
