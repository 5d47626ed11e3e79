WITH foreign_shares AS (
  SELECT g.resource_uid, json_group_array(DISTINCT g.grantee) AS accounts
  FROM grants AS g
  WHERE g.provider = 'aws' AND g.resource_kind = 'image' AND g.grantee_kind = 'account'
    AND g.grantee <> g.account
    AND g.grantee NOT IN (SELECT value FROM json_each(:allowlisted_accounts))
  GROUP BY g.resource_uid
)
SELECT im.uid AS resource_uid, 'image' AS resource_kind, im.id AS resource_id, im.name AS resource_name,
       im.provider, im.account, im.region, im.tags,
       'launchable by account(s) outside the allowlist: ' || (SELECT group_concat(value, ', ') FROM json_each(f.accounts)) AS reason,
       json_object('accounts', json(f.accounts)) AS evidence
FROM foreign_shares AS f JOIN images AS im ON im.uid = f.resource_uid
