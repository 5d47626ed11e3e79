WITH s AS (
  SELECT i.*,
         rtrim(CASE WHEN COALESCE(i.secure_boot, 0) = 0 THEN 'Secure Boot, ' ELSE '' END
            || CASE WHEN COALESCE(i.vtpm, 0) = 0 THEN 'vTPM, ' ELSE '' END
            || CASE WHEN COALESCE(json_extract(i.extra, '$.integrity_monitoring'), 0) = 0
                    THEN 'integrity monitoring, ' ELSE '' END, ', ') AS off
  FROM instances AS i
  WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
)
SELECT s.uid AS resource_uid, 'instance' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'Shielded VM feature(s) off: ' || s.off AS reason,
       json_object('secure_boot', s.secure_boot, 'vtpm', s.vtpm,
                   'integrity_monitoring', json_extract(s.extra, '$.integrity_monitoring'), 'state', s.state) AS evidence
FROM s
WHERE s.off <> ''
