-- Rows are snapshots and images (resource_kind says which); the fix for each kind is named by the fix registry.
WITH public AS (
  SELECT g.resource_uid, g.resource_kind,
         group_concat(g.grantee || ' (' || g.permission || ')', ', ') AS who,
         json_group_array(g.grantee) AS members
  FROM grants AS g
  WHERE g.provider = 'gcp' AND g.grantee_kind IN ('public', 'all_authenticated')
  GROUP BY g.resource_uid, g.resource_kind
),
res AS (
  SELECT uid, id, name, provider, account, region, tags FROM snapshots WHERE provider = 'gcp'
  UNION ALL
  SELECT uid, id, name, provider, account, region, tags FROM images WHERE provider = 'gcp'
)
SELECT r.uid AS resource_uid, p.resource_kind AS resource_kind, r.id AS resource_id, r.name AS resource_name,
       r.provider, r.account, r.region, r.tags,
       p.resource_kind || ' IAM policy grants ' || p.who AS reason,
       json_object('members', json(p.members)) AS evidence
FROM public AS p JOIN res AS r ON r.uid = p.resource_uid
