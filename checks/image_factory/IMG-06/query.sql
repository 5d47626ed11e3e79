-- Approved: a signed approval in the image registry that no later entry revokes, or the pipeline's tag.
-- Scanned: an imported scan result (Trivy, OpenSCAP) for the image, or the pipeline's scan tag.
WITH judged AS (
  SELECT im.*,
         (EXISTS (SELECT 1 FROM image_registry AS r
                   WHERE r.action = 'approve' AND r.provider = im.provider AND r.image_id = im.id
                     AND NOT EXISTS (SELECT 1 FROM image_registry AS x
                                      WHERE x.action = 'revoke' AND x.revokes = r.entry_id))
          OR lower(COALESCE(json_extract(im.tags, '$."' || :approval_tag || '"'), ''))
             IN (SELECT lower(value) FROM json_each(:approval_values))) AS approved,
         (:scan_tag = ''
          OR json_extract(im.tags, '$."' || :scan_tag || '"') IS NOT NULL
          OR EXISTS (SELECT 1 FROM scan_imports AS s WHERE s.resource_uid = im.uid)) AS scanned
  FROM images AS im
  WHERE im.provider = 'aws' AND (im.owner IS NULL OR im.owner = '' OR im.owner = im.account)
)
SELECT j.uid AS resource_uid, 'image' AS resource_kind, j.id AS resource_id, j.name AS resource_name,
       j.provider, j.account, j.region, j.tags,
       trim(CASE WHEN NOT j.approved THEN 'not approved (no registry approval, no ' || :approval_tag || ' tag); ' ELSE '' END ||
            CASE WHEN NOT j.scanned THEN 'no scan result (no import, no ' || :scan_tag || ' tag)' ELSE '' END, '; ') AS reason,
       json_object('approved', j.approved, 'scanned', j.scanned) AS evidence
FROM judged AS j
WHERE NOT j.approved OR NOT j.scanned
