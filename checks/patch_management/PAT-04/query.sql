SELECT ps.instance_uid AS resource_uid, 'instance' AS resource_kind, ps.id AS resource_id,
       COALESCE(i.name, '') AS resource_name, ps.provider, ps.account, ps.region, i.tags,
       'no automatic patching association' AS reason,
       json_object('auto_patch', ps.auto_patch, 'agent_online', ps.agent_online) AS evidence
FROM patch_states AS ps LEFT JOIN instances AS i ON i.uid = ps.instance_uid
WHERE ps.provider = 'aws' AND ps.auto_patch = 0 AND COALESCE(i.state, 'running') <> 'terminated'
