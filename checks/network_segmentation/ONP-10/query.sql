WITH bare AS (
  SELECT i.row_id, group_concat(COALESCE(json_extract(n.value, '$.mac'), '?') || ' on ' || COALESCE(json_extract(n.value, '$.source'), '?'), ', ') AS nics
  FROM instances AS i, json_each(i.extra, '$.interfaces') AS n
  WHERE i.provider = 'libvirt' AND json_extract(n.value, '$.type') IN ('network', 'bridge', 'direct')
    AND COALESCE(json_extract(n.value, '$.filter'), '') NOT IN (SELECT value FROM json_each(:filters))
  GROUP BY i.row_id
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'no anti-spoofing nwfilter on ' || b.nics AS reason,
       json_extract(i.extra, '$.interfaces') AS evidence
FROM instances AS i JOIN bare AS b ON b.row_id = i.row_id
