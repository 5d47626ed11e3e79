-- ESXi 8 default: false.
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'the Managed Object Browser is enabled (Config.HostAgent.plugins.solo.enableMob)' AS reason,
       json_object('Config.HostAgent.plugins.solo.enableMob', json_extract(h.extra, '$.options."Config.HostAgent.plugins.solo.enableMob"'), 'default', 0) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (lower(CAST(COALESCE(json_extract(h.extra, '$.options."Config.HostAgent.plugins.solo.enableMob"'), 0) AS TEXT)) IN ('1', 'true'))
