SELECT n.uid AS resource_uid, 'network' AS resource_kind, n.id AS resource_id, n.name AS resource_name,
       n.provider, n.account, n.region, n.tags,
       'VPC ' || COALESCE(n.cidr, '') || ' has no flow logs' || CASE WHEN n.is_default = 1 THEN ' (default VPC)' ELSE '' END AS reason,
       json_object('cidr', n.cidr, 'is_default', n.is_default) AS evidence
FROM networks AS n
WHERE n.provider = 'aws' AND n.flow_logs = 0
UNION ALL
-- Azure: per NSG, logged by its own NSG flow log or by VNet flow logs covering every subnet / NIC it is attached
-- to (the collector works that out: extra.flow_log_via = 'vnet'). NULL flow_logs means the subscription has no Network Watcher,
-- so nothing was looked at: not reported here.
SELECT g.uid, 'firewall_group', g.id, g.name, g.provider, g.account, g.region, g.tags,
       CASE WHEN json_extract(g.extra, '$.flow_log_id') IS NULL THEN 'NSG has no flow log'
            WHEN json_extract(g.extra, '$.flow_logs') = 0 THEN 'NSG flow log is disabled'
            WHEN json_extract(g.extra, '$.flow_log_via') = 'vnet'
            THEN 'the VNet flow logs covering the NSG are kept ' || json_extract(g.extra, '$.flow_log_retention_days')
                 || ' days, under ' || :min_retention_days
            ELSE 'NSG flow logs are kept ' || json_extract(g.extra, '$.flow_log_retention_days')
                 || ' days, under ' || :min_retention_days
       END,
       json_object('flow_log_id', json_extract(g.extra, '$.flow_log_id'),
                   'enabled', json_extract(g.extra, '$.flow_logs'),
                   'retention_days', json_extract(g.extra, '$.flow_log_retention_days'))
FROM firewall_groups AS g
WHERE g.provider = 'azure'
  -- An NSG attached to nothing carries no traffic to log (SPR-10 reports it).
  AND (COALESCE(json_array_length(json_extract(g.extra, '$.nic_ids')), 0) > 0
       OR COALESCE(json_array_length(json_extract(g.extra, '$.subnet_ids')), 0) > 0)
  AND (json_extract(g.extra, '$.flow_logs') = 0
       -- 0 days is Azure's "kept indefinitely"
       OR json_extract(g.extra, '$.flow_log_retention_days') BETWEEN 1 AND :min_retention_days - 1)
