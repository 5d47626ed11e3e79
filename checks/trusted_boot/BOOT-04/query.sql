WITH cand AS (
  SELECT i.*,
         (SELECT im.tpm_support FROM images AS im
           WHERE im.provider = 'aws' AND im.id = i.image_id AND im.region = i.region LIMIT 1) AS image_tpm
  FROM instances AS i
  WHERE i.provider = 'aws' AND i.state NOT IN ('terminated', 'shutting-down')
),
judged AS (
  SELECT c.*,
         CASE WHEN c.vtpm IS NOT NULL THEN c.vtpm
              WHEN c.image_tpm IS NOT NULL THEN CASE WHEN c.image_tpm = 'v2.0' THEN 1 ELSE 0 END END AS has_tpm
  FROM cand AS c
)
SELECT j.uid AS resource_uid, 'instance' AS resource_kind, j.id AS resource_id, j.name AS resource_name,
       j.provider, j.account, j.region, j.tags,
       trim(
         CASE WHEN j.boot_mode IS NOT NULL AND j.boot_mode <> 'uefi' THEN 'boot mode ' || j.boot_mode || '; ' ELSE '' END ||
         CASE WHEN j.secure_boot = 0 THEN 'Secure Boot off; ' ELSE '' END ||
         CASE WHEN j.has_tpm = 0 THEN 'no NitroTPM (image tpm_support ' || COALESCE(j.image_tpm, 'unset') || ')' ELSE '' END,
         '; ') AS reason,
       json_object('boot_mode', j.boot_mode, 'secure_boot', j.secure_boot, 'vtpm', j.vtpm,
                   'image_id', j.image_id, 'image_tpm_support', j.image_tpm) AS evidence
FROM judged AS j
WHERE (j.boot_mode IS NOT NULL AND j.boot_mode <> 'uefi') OR j.secure_boot = 0 OR j.has_tpm = 0
