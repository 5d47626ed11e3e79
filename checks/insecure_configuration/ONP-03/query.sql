SELECT h.uid AS resource_uid, 'host' AS resource_kind, h.id AS resource_id, h.name AS resource_name,
       h.provider, h.account, h.region, h.tags,
       trim(CASE WHEN h.ssh_enabled = 1 THEN 'SSH (TSM-SSH) running; ' ELSE '' END ||
            CASE WHEN h.shell_enabled = 1 THEN 'ESXi Shell (TSM) running' ELSE '' END, '; ') AS reason,
       json_object('ssh_running', h.ssh_enabled, 'shell_running', h.shell_enabled, 'version', h.version) AS evidence
FROM hosts AS h
WHERE h.provider = 'vsphere' AND (h.ssh_enabled = 1 OR h.shell_enabled = 1)
