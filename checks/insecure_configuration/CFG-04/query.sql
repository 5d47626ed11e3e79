SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'public IP ' || i.public_ip AS reason,
       json_object('public_ip', i.public_ip, 'state', i.state) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp', 'azure') AND i.state <> 'terminated'
  AND i.public_ip > ''  -- an index range: only VMs with an address are read
