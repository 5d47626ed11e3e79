-- Only a date/time configuration that names no server fails; one that could not be read (null) is unknown.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'no NTP server configured' AS reason,
       json_object('ntp_servers', json_extract(h.extra, '$.ntp_servers')) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.ntp_servers') = 'array'
  AND json_array_length(h.extra, '$.ntp_servers') = 0
