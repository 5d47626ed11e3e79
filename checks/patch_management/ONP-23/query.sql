-- The line is the release's major.minor from the product name ('VMware ESXi 8.0.3 build-...'), the build the
-- product's build number; a host whose version or build could not be read is left alone.
WITH known AS (
  SELECT substr(value, 1, instr(value, ':') - 1) AS line, CAST(substr(value, instr(value, ':') + 1) AS INTEGER) AS build
  FROM json_each(:min_builds)
),
host AS (
  SELECT h.row_id, substr(trim(substr(h.version, instr(h.version, 'ESXi ') + 5)), 1, 3) AS line,
         CAST(json_extract(h.extra, '$.build') AS INTEGER) AS build
  FROM hosts AS h
  WHERE h.provider = 'vsphere' AND instr(h.version, 'ESXi ') > 0 AND json_extract(h.extra, '$.build') IS NOT NULL
)
SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       CASE WHEN k.line IS NULL THEN 'ESXi ' || x.line || ' (build ' || x.build || ') is not a supported release line'
            ELSE 'ESXi build ' || x.build || ' is behind ' || k.build || ', the latest known for ' || x.line END AS reason,
       json_object('version', h.version, 'build', x.build, 'min_build', k.build) AS evidence
FROM hosts AS h JOIN host AS x ON x.row_id = h.row_id LEFT JOIN known AS k ON k.line = x.line
WHERE k.line IS NULL OR x.build < k.build
