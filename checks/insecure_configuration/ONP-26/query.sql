-- host-passthrough hands the guest every host CPU feature, vmx/svm included; otherwise a required or forced
-- vmx/svm feature does. host-model alone is not counted (libvirt drops vmx unless nesting is on).
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       CASE WHEN json_extract(i.extra, '$.cpu.mode') = 'host-passthrough' THEN 'CPU mode host-passthrough exposes the host''s virtualization extensions'
            ELSE 'CPU feature ' || json_extract(i.extra, '$.cpu.nested_feature') || ' is exposed to the guest' END AS reason,
       json_extract(i.extra, '$.cpu') AS evidence
FROM instances AS i
WHERE i.provider = 'libvirt'
  AND (json_extract(i.extra, '$.cpu.mode') = 'host-passthrough' OR json_extract(i.extra, '$.cpu.nested_feature') IS NOT NULL)
