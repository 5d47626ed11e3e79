SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id, i.name AS resource_name,
       i.provider, i.account, i.region, i.tags,
       'metadata hop limit is ' || json_extract(i.raw, '$.MetadataOptions.HttpPutResponseHopLimit') || ' (over ' || :max_hop_limit || ')' AS reason,
       json_object('hop_limit', json_extract(i.raw, '$.MetadataOptions.HttpPutResponseHopLimit'), 'tokens', i.imds_tokens) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state <> 'terminated' AND COALESCE(i.imds_endpoint, 'enabled') = 'enabled'
  AND json_extract(i.raw, '$.MetadataOptions.HttpPutResponseHopLimit') > :max_hop_limit
