-- Judged only when the host says 0: an absent key is taken as the hardened value (1).
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'guest BPDU frames are forwarded (Net.BlockGuestBPDU 0)' AS reason,
       json_object('Net.BlockGuestBPDU', json_extract(h.extra, '$.options."Net.BlockGuestBPDU"'), 'default', 1) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (CAST(COALESCE(json_extract(h.extra, '$.options."Net.BlockGuestBPDU"'), 1) AS INTEGER) = 0)
