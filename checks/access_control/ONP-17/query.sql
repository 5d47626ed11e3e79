-- ESXi 8 default: 0 (never).
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       CASE WHEN CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.ESXiShellTimeOut"'), 0) AS INTEGER) = 0 THEN 'ESXi Shell/SSH availability never times out (UserVars.ESXiShellTimeOut 0)' ELSE 'ESXi Shell/SSH stay available for ' || COALESCE(json_extract(h.extra, '$.options."UserVars.ESXiShellTimeOut"'), 0) || ' s, above ' || :max_seconds END AS reason,
       json_object('UserVars.ESXiShellTimeOut', json_extract(h.extra, '$.options."UserVars.ESXiShellTimeOut"'), 'default', 0) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.ESXiShellTimeOut"'), 0) AS INTEGER) = 0 OR CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.ESXiShellTimeOut"'), 0) AS INTEGER) > :max_seconds)
