SELECT g.uid AS resource_uid, 'firewall_group' AS resource_kind, g.id AS resource_id, g.name AS resource_name,
       g.provider, g.account, g.region, g.tags,
       'NSG is attached to no subnet and no network interface' AS reason,
       json_object('location', json_extract(g.extra, '$.location')) AS evidence
FROM firewall_groups AS g
WHERE g.provider = 'azure'
  AND COALESCE(json_array_length(json_extract(g.extra, '$.nic_ids')), 0) = 0
  AND COALESCE(json_array_length(json_extract(g.extra, '$.subnet_ids')), 0) = 0
