WITH keys(key) AS (VALUES ('isolation.tools.copy.disable'), ('isolation.tools.paste.disable'),
                          ('isolation.tools.dnd.disable'), ('isolation.device.connectable.disable')),
missing AS (
  SELECT i.uid, group_concat(k.key || '=' || COALESCE(json_extract(i.extra, '$.hardening."' || k.key || '"'), 'unset'), ', ') AS bad
  FROM instances AS i, keys AS k
  WHERE i.provider = 'vsphere'
    AND upper(COALESCE(json_extract(i.extra, '$.hardening."' || k.key || '"'), '')) <> 'TRUE'
  GROUP BY i.uid
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'console isolation not enforced: ' || m.bad AS reason,
       json_extract(i.extra, '$.hardening') AS evidence
FROM instances AS i JOIN missing AS m ON m.uid = i.uid
