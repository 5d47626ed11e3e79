SELECT n.uid AS resource_uid, 'network' AS resource_kind, n.id AS resource_id, n.name AS resource_name,
       n.provider, n.account, n.region, n.tags,
       'VPC ' || COALESCE(n.cidr, '') || ' has no flow logs' || CASE WHEN n.is_default = 1 THEN ' (default VPC)' ELSE '' END AS reason,
       json_object('cidr', n.cidr, 'is_default', n.is_default) AS evidence
FROM networks AS n
WHERE n.provider = 'aws' AND n.flow_logs = 0
