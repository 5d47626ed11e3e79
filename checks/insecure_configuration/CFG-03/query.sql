-- Candidates: instances whose collector found likely secrets in their user data (extra.user_data_secrets:
-- kind, line and fingerprint only; the script itself is never stored; GCP: the metadata scripts, with their key). The Python step drops ignored ones.
SELECT i.uid AS resource_uid, 'instance' AS resource_kind, i.id AS resource_id,
       i.name AS resource_name, i.provider, i.account, i.region, i.tags,
       'user data holds likely secrets' AS reason,
       json_object('matches', json_extract(i.extra, '$.user_data_secrets')) AS evidence
FROM instances AS i
WHERE i.provider IN ('aws', 'gcp') AND i.state <> 'terminated'
  AND json_array_length(i.extra, '$.user_data_secrets') > 0
