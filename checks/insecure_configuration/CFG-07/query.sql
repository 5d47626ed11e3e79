SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'IP forwarding (canIpForward) is on' AS reason,
       json_object('can_ip_forward', json_extract(i.extra, '$.can_ip_forward'), 'machine_type', i.instance_type) AS evidence
FROM instances AS i
WHERE i.provider = 'gcp' AND i.state NOT IN ('terminated', 'deleted')
  AND json_extract(i.extra, '$.can_ip_forward') = 1
