-- ESXi 8 default: 600 s.
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       CASE WHEN CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.DcuiTimeOut"'), 600) AS INTEGER) = 0 THEN 'DCUI sessions never time out' ELSE 'DCUI sessions time out after ' || COALESCE(json_extract(h.extra, '$.options."UserVars.DcuiTimeOut"'), 600) || ' s, above ' || :max_seconds END AS reason,
       json_object('UserVars.DcuiTimeOut', json_extract(h.extra, '$.options."UserVars.DcuiTimeOut"'), 'default', 600) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.DcuiTimeOut"'), 600) AS INTEGER) = 0 OR CAST(COALESCE(json_extract(h.extra, '$.options."UserVars.DcuiTimeOut"'), 600) AS INTEGER) > :max_seconds)
