-- Approved images (approval in force) on every platform, and on non-AWS platforms any image a running VM uses
-- (AWS has IMG-04 / PAT-05). A shared image seen from several accounts is reported once, on its owner's row.
SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       CASE WHEN im.deprecated_at IS NOT NULL AND im.deprecated_at <= :now
            THEN 'deprecated since ' || im.deprecated_at
            ELSE CAST(julianday(:now) - julianday(im.created_at) AS INTEGER) || ' days old (created '
                 || im.created_at || '), limit ' || :max_age_days || ' days' END
         || CASE WHEN ap.entry_id IS NOT NULL THEN ', still approved (entry ' || ap.entry_id || ')' ELSE '' END
         || ', ' || (SELECT COUNT(*) FROM instances AS i WHERE i.provider = im.provider AND i.image_id = im.id
                       AND i.state NOT IN ('terminated', 'shutting-down')) || ' VM(s) use it' AS reason,
       json_object('created_at', im.created_at, 'deprecated_at', im.deprecated_at,
                   'approval_entry', ap.entry_id) AS evidence
FROM images AS im
LEFT JOIN image_registry AS ap ON ap.action = 'approve' AND ap.provider = im.provider AND ap.image_id = im.id
     AND ap.entry_id = (SELECT MAX(b.entry_id) FROM image_registry AS b
                     WHERE b.action = 'approve' AND b.provider = ap.provider AND b.image_id = ap.image_id)
     AND NOT EXISTS (SELECT 1 FROM image_registry AS x WHERE x.action = 'revoke' AND x.revokes = ap.entry_id)
WHERE im.uid = (SELECT x.uid FROM images AS x WHERE x.provider = im.provider AND x.id = im.id
                 ORDER BY (x.account = x.owner) DESC, x.uid LIMIT 1)
  AND (ap.entry_id IS NOT NULL
       OR (im.provider <> 'aws' AND EXISTS (SELECT 1 FROM instances AS i WHERE i.provider = im.provider
                                             AND i.image_id = im.id AND i.state NOT IN ('terminated', 'shutting-down'))))
  AND ((im.deprecated_at IS NOT NULL AND im.deprecated_at <= :now)
       OR im.created_at < strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || :max_age_days || ' days'))
