SELECT ps.instance_uid AS resource_uid, 'instance' AS resource_kind, ps.id AS resource_id,
       COALESCE(i.name, '') AS resource_name, ps.provider, ps.account, ps.region, i.tags,
       'no automatic patching association' AS reason,
       json_object('auto_patch', ps.auto_patch, 'agent_online', ps.agent_online) AS evidence
FROM patch_states AS ps LEFT JOIN instances AS i ON i.uid = ps.instance_uid
WHERE ps.provider = 'aws' AND ps.auto_patch = 0 AND COALESCE(i.state, 'running') <> 'terminated'
UNION ALL
SELECT i.uid, 'instance', i.id, i.name, i.provider, i.account, i.region, i.tags,
       'periodic assessment ' || COALESCE(json_extract(i.extra, '$.assessment_mode'), 'not set')
         || ', patch mode ' || COALESCE(json_extract(i.extra, '$.patch_mode'), 'not set'),
       json_object('assessment_mode', json_extract(i.extra, '$.assessment_mode'),
                   'patch_mode', json_extract(i.extra, '$.patch_mode'))
FROM instances AS i
WHERE i.provider = 'azure' AND i.state NOT IN ('terminated', 'deleted')
  AND (COALESCE(json_extract(i.extra, '$.assessment_mode'), '') <> 'AutomaticByPlatform'
       OR COALESCE(json_extract(i.extra, '$.patch_mode'), '') NOT IN ('AutomaticByPlatform', 'AutomaticByOS'))
