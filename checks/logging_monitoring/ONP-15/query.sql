-- ESXi 8 default: empty (no remote target).
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'Syslog.global.logHost is not set' AS reason,
       json_object('Syslog.global.logHost', json_extract(h.extra, '$.options."Syslog.global.logHost"'), 'default', '') AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (trim(COALESCE(json_extract(h.extra, '$.options."Syslog.global.logHost"'), '')) = '')
