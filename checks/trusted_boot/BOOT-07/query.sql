SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'paravirtual (PV) instance on ' || i.instance_type AS reason,
       json_object('virtualization_type', json_extract(i.raw, '$.VirtualizationType')) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state <> 'terminated' AND json_extract(i.raw, '$.VirtualizationType') = 'paravirtual'
