-- Grouped by row_id: the VMs are read in table order (grouping by uid walked the uid index, one random
-- table read per VM).
WITH found AS (
  SELECT i.row_id, group_concat(json_extract(d.value, '$.kind') || ' ' || COALESCE(json_extract(d.value, '$.label'), ''), ', ') AS devices
  FROM instances AS i, json_each(i.extra, '$.legacy_devices') AS d
  WHERE i.provider IN ('libvirt', 'vsphere')
    AND json_extract(d.value, '$.connected') = 1
    AND json_extract(d.value, '$.kind') IN (SELECT value FROM json_each(:device_kinds))
  GROUP BY i.row_id
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'connected legacy devices: ' || f.devices AS reason,
       json_extract(i.extra, '$.legacy_devices') AS evidence
FROM instances AS i JOIN found AS f ON f.row_id = i.row_id
