-- GCP's proxy-only and PSC subnets carry no VM traffic and cannot have flow logs. Azure's NULL (no Network
-- Watcher: not looked at) is not reported.
SELECT s.uid AS resource_uid, 'subnet' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'subnet ' || COALESCE(s.cidr, '') || ' has no flow logs' AS reason,
       json_object('network', s.network_id, 'cidr', s.cidr) AS evidence
FROM subnets AS s
WHERE s.provider IN ('gcp', 'azure') AND s.flow_logs = 0
  AND COALESCE(json_extract(s.extra, '$.purpose'), 'PRIVATE') IN ('PRIVATE', 'PRIVATE_RFC_1918')
