SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'metadata service enabled with HttpTokens=' || COALESCE(i.imds_tokens, 'optional') || ' (IMDSv1 still answers)' AS reason,
       json_object('http_tokens', i.imds_tokens, 'http_endpoint', i.imds_endpoint) AS evidence
FROM instances AS i
WHERE i.provider = 'aws' AND i.state NOT IN ('terminated', 'shutting-down')
  AND COALESCE(i.imds_endpoint, 'enabled') = 'enabled'
  -- Every value but 'required', written as an index range on both sides of it.
  AND (i.imds_tokens < 'required' OR i.imds_tokens > 'required')
