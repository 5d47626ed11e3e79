-- Each standard port group's effective policy (its override, else its vSwitch's), as the collector read it.
WITH bad AS (
  SELECT h.row_id, group_concat(json_extract(g.value, '$.name') || ' on ' || json_extract(g.value, '$.vswitch'), ', ') AS groups
  FROM hosts AS h, json_each(h.extra, '$.port_groups') AS g
  WHERE h.provider = 'vsphere' AND json_extract(g.value, '$.macChanges') = 1
  GROUP BY h.row_id
)
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       'MAC address changes accepted on port group(s) ' || b.groups AS reason,
       json_extract(h.extra, '$.port_groups') AS evidence
FROM hosts AS h JOIN bad AS b ON b.row_id = h.row_id
