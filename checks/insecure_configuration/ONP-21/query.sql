-- ESXi 8 default: 2 (every VM salted: no sharing across VMs).
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'inter-VM page sharing allowed (Mem.ShareForceSalting ' || COALESCE(json_extract(h.extra, '$.options."Mem.ShareForceSalting"'), 2) || ')' AS reason,
       json_object('Mem.ShareForceSalting', json_extract(h.extra, '$.options."Mem.ShareForceSalting"'), 'default', 2) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (CAST(COALESCE(json_extract(h.extra, '$.options."Mem.ShareForceSalting"'), 2) AS INTEGER) <> 2)
