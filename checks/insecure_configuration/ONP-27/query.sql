-- The transport is the one the workbench itself uses for the host (its configured URI): plain TCP carries no TLS.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'reached over ' || json_extract(h.extra, '$.uri') || ': plain TCP, no TLS' AS reason,
       json_object('uri', json_extract(h.extra, '$.uri')) AS evidence
FROM hosts AS h
WHERE h.provider = 'libvirt'
  AND (json_extract(h.extra, '$.uri') LIKE '%+tcp://%' OR json_extract(h.extra, '$.uri') LIKE 'tcp://%')
