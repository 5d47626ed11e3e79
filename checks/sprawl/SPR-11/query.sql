-- The source is looked for among cached volumes of the same scope. AWS's placeholder vol-ffffffff (copied or
-- AMI-registered snapshots) names no source, and a snapshot backing a cached image is in use.
WITH image_snaps AS (
  SELECT DISTINCT im.account, im.region, json_extract(b.value, '$.Ebs.SnapshotId') AS snap
  FROM images AS im, json_each(im.raw, '$.BlockDeviceMappings') AS b
  WHERE im.provider = 'aws' AND json_extract(b.value, '$.Ebs.SnapshotId') IS NOT NULL
)
SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'source volume ' || s.source_volume_id || ' no longer exists' AS reason,
       json_object('source_volume_id', s.source_volume_id, 'created_at', s.created_at, 'size_gb', s.size_gb) AS evidence
FROM snapshots AS s
WHERE s.provider IN ('aws', 'gcp', 'azure') AND s.source_volume_id IS NOT NULL AND s.source_volume_id <> 'vol-ffffffff'
  AND (s.created_at IS NULL OR julianday(:now) - julianday(s.created_at) >= :min_age_days)
  AND NOT EXISTS (SELECT 1 FROM volumes AS v WHERE v.provider = s.provider AND v.account = s.account
                  AND v.region = s.region AND v.id = s.source_volume_id)
  AND NOT EXISTS (SELECT 1 FROM image_snaps AS x WHERE x.account = s.account AND x.region = s.region AND x.snap = s.id)
