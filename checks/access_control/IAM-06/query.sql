WITH open_groups AS (
  SELECT DISTINCT r.account, r.region, r.group_id, r.source
  FROM firewall_rules AS r, json_each(:ssh_ports) AS p
  WHERE r.world_open = 1 AND r.provider = 'aws' AND r.direction = 'ingress' AND r.action = 'allow'
    AND r.disabled = 0 AND r.protocol IN ('tcp', '-1', 'all', '6')
    AND (r.port_from IS NULL OR (r.port_from <= p.value AND COALESCE(r.port_to, r.port_from) >= p.value))
),
hits AS (
  SELECT i.uid, json_group_array(DISTINCT o.group_id) AS groups, group_concat(DISTINCT o.source) AS sources
  FROM instances AS i, json_each(i.firewall_groups) AS g
  JOIN open_groups AS o ON o.group_id = g.value AND o.account = i.account AND o.region = i.region
  WHERE i.provider = 'aws' AND i.state = 'running'
  GROUP BY i.uid
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'SSH reachable from ' || h.sources || ' through ' || (SELECT group_concat(value, ', ') FROM json_each(h.groups))
         || COALESCE(' with key pair ' || json_extract(i.extra, '$.key_name'), '') AS reason,
       json_object('groups', json(h.groups), 'key_name', json_extract(i.extra, '$.key_name'),
                   'managed', i.managed) AS evidence
FROM hits AS h JOIN instances AS i ON i.uid = h.uid
