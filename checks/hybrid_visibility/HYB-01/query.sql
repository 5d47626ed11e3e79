-- One row per scope (every collector task of it): failing tasks keep their old rows, so the scope looks
-- populated while it is in fact blind. Discovery failures (region "*") count too.
SELECT s.scope_id AS resource_uid, 'scope' AS resource_kind, s.scope_id AS resource_id,
       COALESCE(MAX(s.label), '') AS resource_name, s.provider, s.account, s.region, NULL AS tags,
       CASE
         WHEN SUM(s.status <> 'ok') > 0 THEN
           SUM(s.status <> 'ok') || ' task(s) failing: '
             || group_concat(CASE WHEN s.status <> 'ok' THEN s.task || ' (' || COALESCE(s.error, s.status) || ')' END, '; ')
         ELSE 'no successful sync for ' || CAST((julianday(:now) - julianday(MAX(s.last_success_at))) * 24 AS INTEGER) || ' h'
       END AS reason,
       json_object('last_success_at', MAX(s.last_success_at), 'failing_tasks', SUM(s.status <> 'ok')) AS evidence
FROM scope_status AS s
-- The scope id is provider:account:region: grouping by the three as well splits no scope.
GROUP BY s.scope_id, s.provider, s.account, s.region
HAVING SUM(s.status <> 'ok') > 0
    OR MAX(s.last_success_at) IS NULL
    OR (julianday(:now) - julianday(MAX(s.last_success_at))) * 24 > :max_age_hours
