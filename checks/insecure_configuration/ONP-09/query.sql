-- An explicit opt-out only: a domain with no seclabel takes the host's default driver, which the domain XML
-- cannot show.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'sVirt confinement is off (seclabel type none)' AS reason,
       json_extract(i.extra, '$.seclabels') AS evidence
FROM instances AS i
WHERE i.provider = 'libvirt'
  AND EXISTS (SELECT 1 FROM json_each(i.extra, '$.seclabels') AS l WHERE json_extract(l.value, '$.type') = 'none')
