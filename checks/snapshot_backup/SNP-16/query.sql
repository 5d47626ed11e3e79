SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'OS disk is an unmanaged VHD: ' || json_extract(i.raw, '$.properties.storageProfile.osDisk.vhd.uri') AS reason,
       json_object('vhd', json_extract(i.raw, '$.properties.storageProfile.osDisk.vhd.uri')) AS evidence
FROM instances AS i
WHERE i.provider = 'azure' AND json_extract(i.raw, '$.properties.storageProfile.osDisk.vhd.uri') IS NOT NULL
