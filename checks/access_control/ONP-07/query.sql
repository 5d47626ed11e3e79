SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'lockdown mode is ' || h.lockdown_mode AS reason,
       json_object('lockdown_mode', h.lockdown_mode) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND h.lockdown_mode = 'lockdownDisabled'
