"""The checks bench: every check of the catalogue over a cache of ``size`` resources (target: 1M in ≤ 3 s).

The cache is filled by SQL (a recursive counter per table), not through ``replace_task``: building a million
records in Python would take longer than the thing measured. The mix follows a typical estate (instances,
volumes, snapshots, security-group rules, patch states…) over 10 accounts × 4 regions, with a few percent of
each kind failing some check (1-10 %, as in a looked-after estate), so the queries return realistic numbers
of rows.

``bench_checks`` times :func:`workbench.scan.engine.evaluate` for every check (reads only), then a full
:func:`~workbench.scan.engine.run_scan` (which also writes the findings) on the same cache.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import audit
from workbench.cache.store import Cache
from workbench.images.keys import Signer

if TYPE_CHECKING:
    from workbench.config import Config

NOW = "2026-11-26T12:00:00Z"
# What the synthetic data looks like, printed with the figures (so a fast check is not mistaken for a fast query
# over a pathological estate, nor the other way round).
ESTATE = (
    "aws only, 10 accounts x 4 regions; VMs run 2,000 in-house AMIs; the signed image registry approves 90 % "
    "of them (1,800 approvals, 20 later revoked: 1,820 entries, one audit record each), so ~10 % of VMs run "
    "unapproved images and ~1 % revoked ones; 1 VM in 11 (~9 %) has no instance profile; 1-10 % of each kind "
    "fails some check; the ANALYZE "
    "every sync ends with has run. evaluate_all_s is the first pass over a freshly opened cache; per_check_s are a second pass"
)
# Share of the resources per table (sums to 1.0).
MIX: dict[str, float] = {
    "instances": 0.22,
    "volumes": 0.22,
    "snapshots": 0.25,
    "images": 0.02,
    "firewall_groups": 0.03,
    "firewall_rules": 0.12,
    "grants": 0.02,
    "patch_states": 0.10,
    "networks": 0.005,
    "subnets": 0.015,
}

# Scope columns derived from the counter x: 10 accounts × 4 regions.
_SCOPE = """
  'aws' AS provider,
  printf('%012d', 100000000000 + x % 10) AS account,
  CASE (x / 10) % 4 WHEN 0 THEN 'eu-west-1' WHEN 1 THEN 'us-east-1' WHEN 2 THEN 'ap-south-1'
                    ELSE 'sa-east-1' END AS region"""

# Per table: (typed columns, their SELECT expressions over x) beyond the base ones.
_TABLES: dict[str, tuple[str, str, str]] = {
    # table: (kind, id expression, extra column list + expressions)
    "instances": (
        "instance",
        "printf('i-%017x', x)",
        """
      state = CASE WHEN x % 10 = 0 THEN 'stopped' ELSE 'running' END,
      state_changed_at = CASE WHEN x % 100 = 0 THEN '2026-03-01T00:00:00Z' ELSE '2026-11-01T00:00:00Z' END,
      instance_type = 'm5.large', platform = 'linux',
      image_id = printf('ami-%017x', x % 2000),
      public_ip = CASE WHEN x % 40 = 0 THEN '203.0.113.' || (x % 250) END,
      imds_tokens = CASE WHEN x % 25 = 0 THEN 'optional' ELSE 'required' END, imds_endpoint = 'enabled',
      boot_mode = CASE WHEN x % 30 = 0 THEN 'legacy-bios' ELSE 'uefi' END, vtpm = 1, managed = 1,
      profile = CASE WHEN x % 11 <> 5 THEN 'arn:aws:iam::1:instance-profile/app' END,
      firewall_groups = json_array(printf('sg-%017x', x % 3000)),
      tags = json_object('Name', 'vm-' || x, 'owner', 'team-' || (x % 37), 'env',
                         CASE WHEN x % 50 = 0 THEN NULL WHEN x % 4 = 0 THEN 'prod' ELSE 'dev' END),
      deletion_protection = (x % 40 <> 0),
      created_at = CASE WHEN x % 25 = 0 THEN '2025-01-15T00:00:00Z'
                        ELSE printf('2026-%02d-%02dT00:00:00Z', 7 + x % 5, 1 + x % 28) END""",
    ),
    "volumes": (
        "volume",
        "printf('vol-%017x', x)",
        """
      state = CASE WHEN x % 40 = 0 THEN 'available' ELSE 'in-use' END, size_gb = 8 + x % 500,
      volume_type = 'gp3', encrypted = (x % 20 <> 0),
      created_at = printf('2025-%02d-%02dT00:00:00Z', 1 + x % 12, 1 + x % 28)""",
    ),
    "snapshots": (
        "snapshot",
        "printf('snap-%017x', x)",
        """
      state = 'completed', encrypted = (x % 30 <> 0), public = (x % 997 = 0),
      source_volume_id = printf('vol-%017x', x),
      created_at = CASE WHEN x % 20 = 0 THEN '2024-06-01T00:00:00Z'
                        ELSE printf('2026-%02d-%02dT00:00:00Z', 1 + x % 11, 1 + x % 28) END""",
    ),
    "images": (
        "image",
        "printf('ami-%017x', x % 2000 + (x / 2000) * 100000)",
        """
      state = 'available', public = (x % 500 = 0), owner = printf('%012d', 100000000000 + x % 10),
      encrypted = (x % 6 <> 0), tpm_support = 'v2.0', boot_mode = 'uefi',
      deprecated_at = CASE WHEN x % 40 = 0 THEN '2026-06-01T00:00:00Z' END,
      tags = CASE WHEN x % 5 = 0 THEN '{}' ELSE json_object('approved', 'true', 'scan_id', 's-' || x) END,
      created_at = printf('2026-%02d-01T00:00:00Z', 8 + x % 4)""",
    ),
    "firewall_groups": (
        "firewall_group",
        "printf('sg-%017x', x)",
        """
      network_id = printf('vpc-%017x', x % 500), is_default = (x % 40 = 0), description = 'bench'""",
    ),
    "firewall_rules": (
        "firewall_rule",
        "printf('sgr-%017x', x)",
        """
      group_id = printf('sg-%017x', x % 30000), direction = CASE WHEN x % 4 = 0 THEN 'egress' ELSE 'ingress' END,
      action = 'allow', protocol = CASE WHEN x % 13 = 0 THEN '-1' ELSE 'tcp' END,
      port_from = CASE WHEN x % 13 = 0 THEN NULL WHEN x % 3 = 0 THEN 22 ELSE 443 END,
      port_to = CASE WHEN x % 13 = 0 THEN NULL WHEN x % 3 = 0 THEN 22 ELSE 443 END,
      source = CASE WHEN x % 50 = 0 THEN '0.0.0.0/0' ELSE '10.0.0.0/8' END, source_kind = 'cidr',
      disabled = 0, world_open = (x % 50 = 0)""",
    ),
    "grants": (
        "grant",
        "printf('snap-%017x/%012d', x, 100000000000 + x % 10 + (x % 20 = 0))",
        """
      resource_kind = 'snapshot', resource_id = printf('snap-%017x', x), grantee_kind = 'account',
      grantee = printf('%012d', 100000000000 + x % 10 + (x % 20 = 0)), permission = 'createVolumePermission'""",
    ),
    "patch_states": (
        "patch_state",
        "printf('i-%017x', x)",
        """
      last_install_at = CASE WHEN x % 20 = 0 THEN '2026-08-15T00:00:00Z' ELSE '2026-11-15T00:00:00Z' END,
      last_scan_at = '2026-11-25T00:00:00Z',
      missing_count = CASE WHEN x % 12 = 0 THEN 3 ELSE 0 END, failed_count = (x % 50 = 0),
      critical_missing = CASE WHEN x % 40 = 0 THEN 1 ELSE 0 END, agent_online = (x % 60 <> 0),
      auto_patch = (x % 10 <> 0)""",
    ),
    "networks": (
        "network",
        "printf('vpc-%017x', x)",
        """
      is_default = (x % 10 = 0), cidr = '10.0.0.0/16', flow_logs = (x % 3 <> 0)""",
    ),
    "subnets": (
        "subnet",
        "printf('subnet-%017x', x)",
        """
      network_id = printf('vpc-%017x', x % 500), cidr = '10.0.1.0/24', flow_logs = 1""",
    ),
}


def _fill(db: Any, table: str, count: int) -> None:
    kind, id_expr, assigns = _TABLES[table]
    pairs = [a.strip() for a in _split_assignments(assigns)]
    cols = [p.split("=", 1)[0].strip() for p in pairs]
    exprs = [p.split("=", 1)[1].strip() for p in pairs]
    extra_cols = "".join(f", {c}" for c in cols)
    extra_vals = "".join(f", {e}" for e in exprs)
    db.execute(
        f"""
        INSERT INTO {table} (uid, scope_id, task, provider, account, region, id, name, hash, first_seen,
                             last_seen{extra_cols}{", instance_uid" if table == "patch_states" else ""}
                             {", resource_uid" if table == "grants" else ""})
        WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < :count),
        s AS (SELECT x, {_SCOPE}, {id_expr} AS rid FROM n)
        SELECT provider || ':' || account || ':' || region || ':{kind}:' || rid,
               provider || ':' || account || ':' || region, 'bench', provider, account, region, rid,
               '{kind}-' || x, 'h', :now, :now{extra_vals}
               {", provider || ':' || account || ':' || region || ':instance:' || rid" if table == "patch_states" else ""}
               {", provider || ':' || account || ':' || region || ':snapshot:' || substr(rid, 1, instr(rid, '/') - 1)" if table == "grants" else ""}
        FROM s
        """,
        {"count": count, "now": NOW},
    )


def _split_assignments(text: str) -> list[str]:
    """Split ``a = f(x, y), b = 2`` on the commas at depth 0."""
    parts, depth, buf = [], 0, ""
    for ch in text:
        if ch in "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    if buf.strip():
        parts.append(buf)
    return parts


def build_cache(path: Path, size: int, signer: Signer) -> dict[str, int]:
    counts = {t: int(size * share) for t, share in MIX.items()}
    with Cache.open(path) as cache, cache.transaction():
        for table, count in counts.items():
            _fill(cache.db, table, count)
        # Settings, one per scope and key, and the tasks whose success some checks look for.
        cache.db.execute(
            f"""
            INSERT INTO settings (uid, scope_id, task, provider, account, region, id, name, first_seen,
                                  last_seen, value)
            WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < 40),
            s AS (SELECT x, {_SCOPE} FROM n),
            k(key, value) AS (VALUES ('ebs_encryption_by_default', '0'),
                                     ('snapshot_block_public_access', 'unblocked'),
                                     ('image_block_public_access', 'block-new-sharing'),
                                     ('imds_defaults', '{{}}'))
            SELECT provider || ':' || account || ':' || region || ':setting:' || key,
                   provider || ':' || account || ':' || region, 'bench', provider, account, region, key, key,
                   :now, :now, CASE WHEN x % 2 = 0 THEN value END
            FROM s, k
            """,
            {"now": NOW},
        )
        cache.db.execute(
            "INSERT INTO scope_status (scope_id, task, provider, account, region, status, "
            "last_success_at) SELECT DISTINCT scope_id, t.task, provider, account, region, 'ok', ? "
            "FROM instances, (SELECT 'patch' AS task UNION ALL SELECT 'images') AS t",
            (NOW,),
        )
        # The collector's instance -> security group edges (IAM-06 walks them).
        cache.db.execute(
            "INSERT INTO relations (scope_id, task, src_uid, kind, dst_uid) "
            "SELECT scope_id, 'bench', uid, 'protected_by', "
            "scope_id || ':firewall_group:' || json_extract(firewall_groups, '$[0]') FROM instances"
        )
        cache.db.execute(
            "INSERT INTO patch_history (run_id, instance_uid, at, last_install_at, missing_count, "
            "failed_count, critical_missing) SELECT 1, instance_uid, '2026-11-01T00:00:00Z', "
            "last_install_at, missing_count, failed_count, critical_missing FROM patch_states"
        )
        _approve_images(cache, counts["images"], signer)
    with Cache.open(path) as cache:
        audit.anchor(cache)  # the approvals were appended inside the one transaction above
        cache.analyze()  # as every sync ends
    return counts


def _approve_images(cache: Cache, images: int, signer: Signer) -> None:
    """Signed approvals (with their audit records) for 90 % of the 2,000 AMIs the VMs run, 1 % then revoked.

    So IMG-10 flags the VMs of the unapproved tenth, IMG-17 those of the revoked ones, and IMG-11 verifies
    the signature behind every other VM.
    """
    from workbench.images import registry

    for x in range(min(images, 2000)):
        if x % 10 == 0:
            continue
        acct = f"{100000000000 + x % 10:012d}"
        region = ("eu-west-1", "us-east-1", "ap-south-1", "sa-east-1")[(x // 10) % 4]
        iid = f"ami-{x:017x}"
        ref = registry.ImageRef(
            "aws",
            acct,
            iid,
            f"aws:{acct}:{region}:image:{iid}",
            f"image-{x}",
            f"2026-{8 + x % 4:02d}-01T00:00:00Z",
            None,
        )
        entry = registry.approve(
            cache, ref, "bench golden image", signer, actor="bench", role="admin", now=NOW
        )
        if x % 100 == 1:
            registry.revoke(
                cache,
                str(entry.entry_id),
                "bench: superseded",
                signer,
                actor="bench",
                role="admin",
                now=NOW,
            )


def bench_checks(size: int = 1_000_000) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workbench import config
    from workbench.images import keys

    # A throwaway signing key, pinned as the only trusted key for this run (the user's keyring is not read).
    signer = keys.Signer(Ed25519PrivateKey.generate(), "bench")
    pinned = {"trusted_keys": [keys.public_b64(signer.public)], "trust_local_key": False}
    return _run(size, signer, config.parse({"images": pinned}))


def _run(size: int, signer: Signer, cfg: Config) -> dict[str, Any]:
    from workbench.scan.engine import MMAP_BYTES, evaluate, evaluate_many, run_scan
    from workbench.scan.loader import load_catalogue

    with tempfile.TemporaryDirectory(prefix="vmwb-bench-checks-") as tmp:
        path = Path(tmp) / "cache.db"
        t0 = time.perf_counter()
        counts = build_cache(path, size, signer)
        built = time.perf_counter() - t0
        checks = load_catalogue()
        per_check: dict[str, float] = {}
        with Cache.open(path) as cache:
            t1 = time.perf_counter()
            results, errors = evaluate_many(cache, checks, now=NOW, config=cfg)
            evaluated = time.perf_counter() - t1
            rows = {cid: len(r) for cid, r in results.items()}
            # Then one by one, for the per-check figures (one connection, no parallelism).
            reader = cache.reader()
            reader.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            for check in checks:
                t = time.perf_counter()
                if check.id not in errors:  # a failing check is already reported
                    evaluate(reader, check, now=NOW, config=cfg)
                per_check[check.id] = round(time.perf_counter() - t, 4)
            reader.close()
            t2 = time.perf_counter()
            result = run_scan(cache, now=NOW, config=cfg)
            scanned = time.perf_counter() - t2
        by_time = dict(sorted(per_check.items(), key=lambda kv: -kv[1]))
        return {
            "estate": ESTATE,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "resources": sum(counts.values()),
            "by_table": counts,
            "checks": len(checks),
            "build_s": round(built, 2),
            "evaluate_all_s": round(evaluated, 3),
            "target_s": 3.0,
            "within_target": evaluated <= 3.0,
            "failing_rows": sum(rows.values()),
            "check_errors": errors,
            "sequential_sum_s": round(sum(per_check.values()), 3),
            "scan_with_findings_s": round(scanned, 3),
            "findings_written": result.counts.get("open", 0) + result.counts.get("muted", 0),
            "per_check_s": by_time,
            "per_check_rows": rows,
        }
