-- Same stages as the lifecycle fixes: the grace period runs from the stopped-on tag (written when the
-- stop_expired fix stopped the VM) or, without one, from the expiry date.
WITH marked AS (
  SELECT i.uid,
         date(json_extract(i.tags, '$."' || :expiry_tag || '"')) AS expires,
         COALESCE(date(json_extract(i.tags, '$."' || :stopped_tag || '"')),
                  date(json_extract(i.tags, '$."' || :expiry_tag || '"'))) AS stopped_on
  FROM instances AS i
  WHERE i.provider = 'aws' AND i.state IN ('stopped', 'stopping')
)
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'expired on ' || mk.expires || ', stopped since ' || mk.stopped_on || ', grace of ' || :grace_days
         || ' days ended ' || date(mk.stopped_on, '+' || :grace_days || ' days') AS reason,
       json_object('expires', mk.expires, 'stopped_on', mk.stopped_on) AS evidence
FROM marked AS mk JOIN instances AS i ON i.uid = mk.uid
WHERE mk.expires IS NOT NULL
  AND date(mk.stopped_on, '+' || :grace_days || ' days') <= date(:now)
