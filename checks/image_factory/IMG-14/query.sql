-- The publisher is parsed from the image reference in checks/logic.py: GCP `<project>/<image>` (an image of the
-- VM's own project has no project prefix), Azure `publisher:offer:sku:version` or a gallery / ARM id.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'launched from ' || i.image_id AS reason,
       json_object('image_id', i.image_id) AS evidence
FROM instances AS i
WHERE i.provider IN ('gcp', 'azure') AND i.state NOT IN ('terminated', 'shutting-down') AND i.image_id IS NOT NULL AND i.image_id <> ''
