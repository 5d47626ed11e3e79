SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'encryption at host is off (temp disk and host cache unencrypted)' AS reason,
       json_object('encryption_at_host', i.encryption_at_host, 'vm_size', i.instance_type) AS evidence
FROM instances AS i
WHERE i.provider = 'azure' AND i.encryption_at_host = 0
