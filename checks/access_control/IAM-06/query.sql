-- From the few world-open SSH rules to their groups, then through the collector's protected_by relations
-- (indexed by destination) to the VMs: the VMs are never scanned.
WITH open_groups AS (
  SELECT r.provider || ':' || r.account || ':' || r.region || ':firewall_group:' || r.group_id AS group_uid,
         r.group_id, group_concat(DISTINCT r.source) AS sources
  FROM firewall_rules AS r, json_each(:ssh_ports) AS p
  WHERE r.world_open = 1 AND r.provider = 'aws' AND r.direction = 'ingress' AND r.action = 'allow'
    AND r.disabled = 0 AND r.protocol IN ('tcp', '-1', 'all', '6')
    AND (r.port_from IS NULL OR (r.port_from <= p.value AND COALESCE(r.port_to, r.port_from) >= p.value))
  GROUP BY r.provider, r.account, r.region, r.group_id
),
hits AS (
  SELECT rel.src_uid AS uid, json_group_array(DISTINCT o.group_id) AS groups,
         group_concat(DISTINCT o.sources) AS sources
  FROM open_groups AS o JOIN relations AS rel ON rel.dst_uid = o.group_uid AND rel.kind = 'protected_by'
  GROUP BY rel.src_uid
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'SSH reachable from ' || h.sources || ' through ' || (SELECT group_concat(value, ', ') FROM json_each(h.groups))
         || COALESCE(' with key pair ' || json_extract(i.extra, '$.key_name'), '') AS reason,
       json_object('groups', json(h.groups), 'key_name', json_extract(i.extra, '$.key_name'),
                   'managed', i.managed) AS evidence
FROM hits AS h JOIN instances AS i ON i.uid = h.uid
WHERE i.state = 'running'
