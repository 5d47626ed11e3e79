SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'Linux VM with SSH password authentication enabled (admin user '
         || COALESCE(json_extract(i.raw, '$.properties.osProfile.adminUsername'), '?') || ')' AS reason,
       json_object('disablePasswordAuthentication', 0, 'public_ip', i.public_ip, 'state', i.state) AS evidence
FROM instances AS i
WHERE i.provider = 'azure' AND i.platform = 'linux'
  AND json_extract(i.extra, '$.password_auth') = 1
  AND i.state NOT IN ('terminated', 'deleted')
