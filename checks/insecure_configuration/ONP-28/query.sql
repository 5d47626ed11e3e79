SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'domain type qemu: software emulation, no hardware-assisted virtualization' AS reason,
       json_object('domain_type', json_extract(i.extra, '$.domain_type')) AS evidence
FROM instances AS i
WHERE i.provider = 'libvirt' AND json_extract(i.extra, '$.domain_type') = 'qemu'
