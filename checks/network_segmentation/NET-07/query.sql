SELECT n.uid AS resource_uid, 'network' AS resource_kind, n.id AS resource_id, n.name AS resource_name,
       n.provider, n.account, n.region, n.tags,
       'legacy network (' || COALESCE(n.cidr, '?') || '): no subnets' AS reason,
       json_object('mode', json_extract(n.extra, '$.mode'), 'cidr', n.cidr) AS evidence
FROM networks AS n
WHERE n.provider = 'gcp' AND json_extract(n.extra, '$.mode') = 'legacy'
