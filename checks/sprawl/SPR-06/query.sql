-- Managed means SSM knows the instance: the collector's patch task lists exactly the managed instances,
-- so a running instance without a patch_states row is unmanaged, provided that task succeeded for its scope.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       CASE WHEN ps.instance_uid IS NOT NULL THEN 'SSM agent is not online'
            ELSE 'running but not managed by SSM' END
         || CASE WHEN i.profile IS NULL THEN ' (no instance profile)' ELSE '' END AS reason,
       json_object('profile', i.profile, 'agent_online', ps.agent_online) AS evidence
FROM instances AS i
LEFT JOIN patch_states AS ps ON ps.instance_uid = i.uid
-- One pass over the VMs (+state: a plain scan beats 90 % of the table through the state index); the
-- patch-state lookup happens only for the VMs that are not known to be managed.
WHERE i.provider = 'aws' AND +i.state = 'running' AND COALESCE(i.managed, 0) = 0
  AND (i.managed = 0
       OR ps.agent_online = 0
       OR (ps.instance_uid IS NULL
           AND i.scope_id IN (SELECT scope_id FROM scope_status
                               WHERE task = 'patch' AND last_success_at IS NOT NULL)))
