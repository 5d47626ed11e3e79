SELECT v.uid AS resource_uid, 'volume' AS resource_kind, v.id AS resource_id, v.name AS resource_name,
       v.provider, v.account, v.region, v.tags,
       'disk is being exported: a SAS download URL is active (diskState '
         || COALESCE(json_extract(v.extra, '$.disk_state'), '?') || ')' AS reason,
       json_object('disk_state', json_extract(v.extra, '$.disk_state'),
                   'network_access_policy', json_extract(v.extra, '$.network_access_policy')) AS evidence
FROM volumes AS v
WHERE v.provider = 'azure' AND json_extract(v.extra, '$.sas_active') = 1
UNION ALL
SELECT s.uid, 'snapshot', s.id, s.name, s.provider, s.account, s.region, s.tags,
       'snapshot is being exported: a SAS download URL is active (diskState '
         || COALESCE(json_extract(s.extra, '$.disk_state'), '?') || ')',
       json_object('disk_state', json_extract(s.extra, '$.disk_state'),
                   'network_access_policy', json_extract(s.extra, '$.network_access_policy'))
FROM snapshots AS s
WHERE s.provider = 'azure' AND json_extract(s.extra, '$.sas_active') = 1
