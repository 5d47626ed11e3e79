WITH foreign_shares AS (
  SELECT g.resource_uid, json_group_array(DISTINCT g.grantee) AS accounts
  FROM grants AS g
  WHERE g.provider = 'aws' AND g.resource_kind = 'snapshot' AND g.grantee_kind = 'account'
    AND g.grantee <> g.account
    AND g.grantee NOT IN (SELECT value FROM json_each(:allowlisted_accounts))
  GROUP BY g.resource_uid
)
SELECT s.uid AS resource_uid, 'snapshot' AS resource_kind, s.id AS resource_id, s.name AS resource_name,
       s.provider, s.account, s.region, s.tags,
       'shared with account(s) outside the allowlist: ' || (SELECT group_concat(value, ', ') FROM json_each(f.accounts)) AS reason,
       json_object('accounts', json(f.accounts), 'encrypted', s.encrypted) AS evidence
FROM foreign_shares AS f JOIN snapshots AS s ON s.uid = f.resource_uid
