SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       trim(
         CASE WHEN COALESCE(i.boot_mode, '') <> 'uefi' THEN 'boots ' || COALESCE(i.boot_mode, 'unknown firmware') || '; '
              WHEN i.secure_boot = 0 THEN 'UEFI without Secure Boot; ' ELSE '' END ||
         CASE WHEN i.vtpm = 0 THEN 'no vTPM' ELSE '' END,
         '; ') AS reason,
       json_object('boot_mode', i.boot_mode, 'secure_boot', i.secure_boot, 'vtpm', i.vtpm, 'state', i.state) AS evidence
FROM instances AS i
WHERE i.provider IN ('libvirt', 'vsphere')
  AND (COALESCE(i.boot_mode, '') <> 'uefi' OR i.secure_boot = 0 OR i.vtpm = 0)
