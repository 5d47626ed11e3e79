-- ESXi 8 default: 5.
-- Hosts whose options could not be read (options null) are left alone: unknown, not failing.
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       CASE WHEN CAST(COALESCE(json_extract(h.extra, '$.options."Security.AccountLockFailures"'), 5) AS INTEGER) = 0 THEN 'account lockout is off (Security.AccountLockFailures 0)' ELSE 'accounts lock only after ' || COALESCE(json_extract(h.extra, '$.options."Security.AccountLockFailures"'), 5) || ' failed logins, above ' || :max_failures END AS reason,
       json_object('Security.AccountLockFailures', json_extract(h.extra, '$.options."Security.AccountLockFailures"'), 'default', 5) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND json_type(h.extra, '$.options') = 'object'
  AND (CAST(COALESCE(json_extract(h.extra, '$.options."Security.AccountLockFailures"'), 5) AS INTEGER) = 0 OR CAST(COALESCE(json_extract(h.extra, '$.options."Security.AccountLockFailures"'), 5) AS INTEGER) > :max_failures)
