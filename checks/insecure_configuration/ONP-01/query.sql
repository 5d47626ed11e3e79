-- An unset key is judged by its vSphere 8 default: each of the four is TRUE (disabled) when absent, as the
-- vSphere security configuration guide's "installation default" says, so only an explicit non-TRUE fails.
-- Grouped by row_id: the VMs are read once, in table order (grouping by uid walked the uid index, one random
-- table read per VM).
WITH keys(key) AS (VALUES ('isolation.tools.copy.disable'), ('isolation.tools.paste.disable'),
                          ('isolation.tools.dnd.disable'), ('isolation.device.connectable.disable')),
missing AS (
  SELECT i.row_id, group_concat(k.key || '=' || json_extract(i.extra, '$.hardening."' || k.key || '"'), ', ') AS bad
  FROM instances AS i CROSS JOIN keys AS k  -- VMs outer: one pass, already in row_id order
  WHERE i.provider = 'vsphere'
    AND upper(COALESCE(json_extract(i.extra, '$.hardening."' || k.key || '"'), 'TRUE')) <> 'TRUE'
  GROUP BY i.row_id
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'console isolation not enforced: ' || m.bad AS reason,
       json_extract(i.extra, '$.hardening') AS evidence
FROM instances AS i JOIN missing AS m ON m.row_id = i.row_id
