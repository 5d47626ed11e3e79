-- Grouped by row_id: the VMs are read in table order (grouping by uid walked the uid index, one random
-- table read per VM).
-- has_password is null when it could not be seen (libvirt read-only: set secure_xml = true); only a known
-- missing password fails on its own, an exposed listener fails either way.
WITH found AS (
  SELECT i.row_id,
         group_concat(json_extract(g.value, '$.type')
           || COALESCE(' on ' || json_extract(g.value, '$.listen'), ' with no listen address')
           || CASE WHEN json_extract(g.value, '$.has_password') = 0 THEN ' without password'
                   WHEN json_extract(g.value, '$.has_password') IS NULL THEN ' (password unknown)' ELSE '' END
           || CASE WHEN json_extract(g.value, '$.listen_next_boot') IS NOT NULL
                   THEN ' (config already says ' || json_extract(g.value, '$.listen_next_boot') || ': restart the guest)' ELSE '' END,
           ', ') AS consoles
  FROM instances AS i, json_each(i.extra, '$.graphics') AS g
  WHERE i.provider IN ('libvirt', 'vsphere')
    AND (json_extract(g.value, '$.exposed') = 1 OR json_extract(g.value, '$.has_password') = 0)
  GROUP BY i.row_id
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'console ' || f.consoles AS reason,
       json_extract(i.extra, '$.graphics') AS evidence
FROM instances AS i JOIN found AS f ON f.row_id = i.row_id
