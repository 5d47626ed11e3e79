SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'expiry tag ' || :expiry_tag || '=' || json_extract(i.tags, '$."' || :expiry_tag || '"') || ' has passed and the VM still runs' AS reason,
       json_object('expiry', json_extract(i.tags, '$."' || :expiry_tag || '"')) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state IN ('running', 'pending')
  -- A cheap test first: a plain key (ASCII, nothing JSON escapes) occurs as "key": in the tags' text;
  -- any other key is looked for by json_extract alone (the needle is then empty, which instr always finds).
  AND instr(i.tags, (SELECT CASE WHEN json_quote(:expiry_tag) = '"' || :expiry_tag || '"'
                                   AND NOT :expiry_tag GLOB '*[^ -~]*'
                              THEN json_quote(:expiry_tag) || ':' ELSE '' END)) > 0
  AND json_extract(i.tags, '$."' || :expiry_tag || '"') IS NOT NULL
  AND date(json_extract(i.tags, '$."' || :expiry_tag || '"')) < date(:now)
