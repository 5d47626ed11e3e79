SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'disk export allowed from any network (networkAccessPolicy '
         || COALESCE(json_extract(v.extra, '$.network_access_policy'), 'AllowAll') || ', publicNetworkAccess '
         || COALESCE(json_extract(v.extra, '$.public_network_access'), 'Enabled') || ')' AS reason,
       json_object('network_access_policy', json_extract(v.extra, '$.network_access_policy'),
                   'public_network_access', json_extract(v.extra, '$.public_network_access'),
                   'state', v.state, 'attached_to', json(v.attached_to)) AS evidence
FROM volumes AS v
WHERE v.provider = 'azure' AND v.public_access = 1
UNION ALL
SELECT s.uid, 'snapshot', s.id, s.name, s.provider, s.account, s.region, s.tags,
       'snapshot export allowed from any network (networkAccessPolicy '
         || COALESCE(json_extract(s.extra, '$.network_access_policy'), 'AllowAll') || ', publicNetworkAccess '
         || COALESCE(json_extract(s.extra, '$.public_network_access'), 'Enabled') || ')',
       json_object('network_access_policy', json_extract(s.extra, '$.network_access_policy'),
                   'public_network_access', json_extract(s.extra, '$.public_network_access'),
                   'state', s.state, 'source_volume_id', s.source_volume_id)
FROM snapshots AS s
WHERE s.provider = 'azure' AND json_extract(s.extra, '$.public_access') = 1
