SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'runs on the default network ' || i.network_id AS reason,
       json_object('network', i.network_id) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated' AND i.network_id IS NOT NULL
  AND ((i.provider = 'gcp' AND i.network_id = 'default')
       OR (i.provider = 'aws' AND EXISTS (SELECT 1 FROM networks AS n WHERE n.provider = 'aws' AND n.account = i.account
                                          AND n.region = i.region AND n.id = i.network_id AND n.is_default = 1)))
