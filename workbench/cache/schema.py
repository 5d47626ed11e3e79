"""The cache's SQLite schema and its migrations.

Resource tables are generated from the record classes in ``workbench.model``: every table has the same base
columns (identity, scope, tags, raw JSON, history) followed by the kind's own typed columns, so checks are plain
indexed SQL. Each resource table has an external-content FTS5 trigram index ``<table>_fts`` over its ``search``
column (id, name, tag keys and values) for filter-as-you-type.

Migrations are append-only: ``MIGRATIONS[n]`` takes the schema from version n to n+1. Never edit a released one;
add the next.
"""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
import typing
from collections.abc import Callable

from workbench import model

# Columns every resource table starts with, in order.
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_id", "INTEGER PRIMARY KEY"),
    ("uid", "TEXT NOT NULL UNIQUE"),
    ("scope_id", "TEXT NOT NULL"),
    (
        "task",
        "TEXT NOT NULL",
    ),  # the collector task that wrote the row; replacement unit with scope_id
    ("provider", "TEXT NOT NULL"),
    ("account", "TEXT NOT NULL"),
    ("region", "TEXT NOT NULL"),
    ("id", "TEXT NOT NULL"),
    ("name", "TEXT"),
    ("created_at", "TEXT"),
    ("tags", "TEXT"),  # JSON object
    ("extra", "TEXT"),  # JSON object
    ("raw", "TEXT"),  # JSON, the provider's own response
    ("search", "TEXT"),  # what the FTS index covers
    ("hash", "TEXT"),  # content hash, to tell "changed" from "seen again"
    ("first_seen", "TEXT NOT NULL"),
    ("last_seen", "TEXT NOT NULL"),
)

TABLES: dict[str, str] = {
    "instance": "instances",
    "volume": "volumes",
    "snapshot": "snapshots",
    "image": "images",
    "firewall_group": "firewall_groups",
    "firewall_rule": "firewall_rules",
    "network": "networks",
    "subnet": "subnets",
    "grant": "grants",
    "setting": "settings",
    "patch_state": "patch_states",
    "host": "hosts",
}

# Columns derived at ingest that are not fields of the record class.
DERIVED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "firewall_rule": (("world_open", "INTEGER"),),
    "grant": (("resource_uid", "TEXT"),),
    "patch_state": (("instance_uid", "TEXT"),),
}

# Columns the UI filters or sorts on, or checks join on, beyond the base ones.
INDEXED: dict[str, tuple[str, ...]] = {
    "instance": ("state", "image_id", "imds_tokens", "public_ip", "instance_type"),
    "volume": ("state", "encrypted"),
    "snapshot": ("encrypted", "public", "source_volume_id", "source_instance_id"),
    "image": ("public", "owner", "deprecated_at"),
    "firewall_group": ("network_id",),
    "firewall_rule": ("group_id", "world_open", "direction"),
    "network": ("is_default",),
    "subnet": ("network_id",),
    "grant": ("resource_uid", "grantee_kind", "grantee", "resource_id"),
    "setting": (),
    "patch_state": ("instance_uid",),
    "host": (),
}
BASE_INDEXED = (
    "scope_id",
    "provider",
    "account",
    "region",
    "name",
    "created_at",
    "first_seen",
    "id",
)

_SKIP_FIELDS = {"id", "name", "created_at", "tags", "raw", "extra"}


def _sql_type(annotation: object) -> str:
    text = str(annotation)
    if "bool" in text or "int" in text:
        return "INTEGER"
    if "float" in text:
        return "REAL"
    return "TEXT"  # str, list and dict (as JSON), Any (as JSON)


def kind_columns(kind: str) -> list[tuple[str, str]]:
    """The kind's own typed columns (after the base ones), from its record class, then derived ones."""
    return list(_kind_columns(kind))


@functools.cache
def _kind_columns(kind: str) -> tuple[tuple[str, str], ...]:
    # Resolving the type hints costs ~1 ms, and ingest asks once per task and kind.
    cls = model.RECORD_TYPES[kind]
    hints = typing.get_type_hints(cls)
    cols = [
        (f.name, _sql_type(hints[f.name]))
        for f in dataclasses.fields(cls)
        if f.name not in _SKIP_FIELDS
    ]
    return (*cols, *DERIVED_COLUMNS.get(kind, ()))


def table_ddl(kind: str) -> list[str]:
    table = TABLES[kind]
    cols = list(BASE_COLUMNS) + kind_columns(kind)
    body = ",\n  ".join(f"{name} {typ}" for name, typ in cols)
    stmts = [f"CREATE TABLE {table} (\n  {body}\n)"]
    for col in BASE_INDEXED + INDEXED[kind]:
        stmts.append(f"CREATE INDEX idx_{table}_{col} ON {table}({col})")
    stmts.append(f"CREATE INDEX idx_{table}_scope_task ON {table}(scope_id, task)")
    stmts.append(
        f"CREATE VIRTUAL TABLE {table}_fts USING fts5(search, content='{table}', "
        f"content_rowid='row_id', tokenize='trigram')"
    )
    return stmts


_CORE_TABLES = """
CREATE TABLE sync_runs (
  run_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,          -- running | ok | partial | failed | cancelled | interrupted
  params TEXT,                   -- JSON: providers, profiles, regions asked for
  resources INTEGER DEFAULT 0,
  errors INTEGER DEFAULT 0
);
-- The latest state of every (scope, task): what the UI shows as fresh / stale / failed.
CREATE TABLE scope_status (
  scope_id TEXT NOT NULL,
  task TEXT NOT NULL,
  provider TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  label TEXT,
  status TEXT NOT NULL,          -- ok | stale (last attempt failed, old rows kept) | failed (never succeeded)
  last_attempt_at TEXT,
  last_success_at TEXT,
  error TEXT,
  resources INTEGER DEFAULT 0,
  run_id INTEGER,
  PRIMARY KEY (scope_id, task)
);
-- Every attempt, for sync history.
CREATE TABLE scope_runs (
  run_id INTEGER NOT NULL,
  scope_id TEXT NOT NULL,
  task TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  started_at TEXT,
  finished_at TEXT,
  resources INTEGER DEFAULT 0
);
CREATE INDEX idx_scope_runs_run ON scope_runs(run_id);
-- Inventory history: what each sync added, changed or removed.
CREATE TABLE resource_changes (
  run_id INTEGER NOT NULL,
  uid TEXT NOT NULL,
  kind TEXT NOT NULL,
  change TEXT NOT NULL,          -- added | changed | removed
  at TEXT NOT NULL
);
CREATE INDEX idx_resource_changes_run ON resource_changes(run_id);
CREATE INDEX idx_resource_changes_uid ON resource_changes(uid);
CREATE TABLE relations (
  scope_id TEXT NOT NULL,
  task TEXT NOT NULL,
  src_uid TEXT NOT NULL,
  kind TEXT NOT NULL,
  dst_uid TEXT NOT NULL
);
CREATE INDEX idx_relations_src ON relations(src_uid);
CREATE INDEX idx_relations_dst ON relations(dst_uid);
CREATE INDEX idx_relations_scope ON relations(scope_id, task);
-- Patch state over time, for the KPIs (time to patch, critical remediated within 7 days).
CREATE TABLE patch_history (
  run_id INTEGER NOT NULL,
  instance_uid TEXT NOT NULL,
  at TEXT NOT NULL,
  last_install_at TEXT,
  missing_count INTEGER,
  failed_count INTEGER,
  critical_missing INTEGER
);
CREATE INDEX idx_patch_history_uid ON patch_history(instance_uid, at);

-- Checks: scans, findings with history, mutes.
CREATE TABLE scans (
  scan_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  selection TEXT,                -- JSON: which checks were asked for
  counts TEXT                    -- JSON: open / new / resolved / muted
);
CREATE TABLE findings (
  finding_id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,      -- check_id|resource_uid: stable across scans
  check_id TEXT NOT NULL,
  resource_uid TEXT NOT NULL,
  resource_kind TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  resource_name TEXT,
  provider TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  severity TEXT NOT NULL,
  area TEXT,
  status TEXT NOT NULL,          -- open | resolved | muted
  reason TEXT,
  evidence TEXT,                 -- JSON
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  resolved_at TEXT,
  mute_id INTEGER,
  last_scan_id INTEGER
);
CREATE INDEX idx_findings_check ON findings(check_id);
CREATE INDEX idx_findings_status ON findings(status);
CREATE INDEX idx_findings_severity ON findings(severity);
CREATE INDEX idx_findings_resource ON findings(resource_uid);
CREATE TABLE finding_events (
  scan_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  change TEXT NOT NULL,          -- new | resolved | reopened | muted | unmuted | changed
  at TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX idx_finding_events_scan ON finding_events(scan_id);
CREATE TABLE mutes (
  mute_id INTEGER PRIMARY KEY,
  check_pattern TEXT,            -- regular expressions; NULL matches anything
  account_pattern TEXT,
  region_pattern TEXT,
  resource_pattern TEXT,
  tag_pattern TEXT,              -- key=value regex against each tag
  reason TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  active INTEGER NOT NULL DEFAULT 1
);

-- Fixes: the journal of every change, with before- and after-state.
CREATE TABLE journal (
  entry_id INTEGER PRIMARY KEY,
  plan_id TEXT NOT NULL,
  fix_id TEXT NOT NULL,
  check_id TEXT,
  resource_uid TEXT,
  step INTEGER NOT NULL DEFAULT 0,
  api_call TEXT,                 -- JSON: service, operation, parameters
  before TEXT,                   -- JSON
  after TEXT,                    -- JSON
  status TEXT NOT NULL,          -- pending | applied | failed | verified | undone | reconciled
  error TEXT,
  actor TEXT,
  role TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT,
  undo_of INTEGER
);
CREATE INDEX idx_journal_plan ON journal(plan_id);
CREATE INDEX idx_journal_status ON journal(status);
-- Append-only, hash-chained audit log.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT,
  action TEXT NOT NULL,          -- plan | apply | undo | mute | unmute | approve | revoke | sync | scan …
  target TEXT,
  details TEXT,                  -- JSON
  result TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
"""


def _migration_1(db: sqlite3.Connection) -> None:
    for kind in TABLES:
        for stmt in table_ddl(kind):
            db.execute(stmt)
    for stmt in split_statements(_CORE_TABLES):
        db.execute(stmt)


def split_statements(script: str) -> list[str]:
    """Split a script into statements, so they run inside the caller's transaction.

    (``executescript`` would commit first.)
    """
    stmts: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            stmts.append(buf.strip())
            buf = ""
    if buf.strip():
        stmts.append(buf.strip())
    return stmts


Migration = Callable[[sqlite3.Connection], None]


def _migration_2(db: sqlite3.Connection) -> None:
    """The audit log is append-only: refuse UPDATE and DELETE (``vmwb audit verify`` catches the rest)."""
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


_IMAGE_FACTORY_TABLES = """
-- The approved-image registry: append-only, every entry (approval or revocation) Ed25519-signed over
-- ``payload``; the typed columns repeat the payload for joins and are checked against it on verify.
CREATE TABLE image_registry (
  entry_id INTEGER PRIMARY KEY,
  action TEXT NOT NULL,          -- approve | revoke
  provider TEXT NOT NULL,
  account TEXT,                  -- the image's owning account / project / publisher scope
  image_id TEXT NOT NULL,
  image_uid TEXT,
  name TEXT,
  image_created_at TEXT,
  digest TEXT,                   -- the fingerprint the platform exposes, if any
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  signed_at TEXT NOT NULL,
  revokes INTEGER,               -- for a revocation: the approval's entry_id
  prev_hash TEXT NOT NULL,       -- SHA-256 of the previous entry's payload: a hash chain
  key_id TEXT NOT NULL,
  payload TEXT NOT NULL,         -- canonical JSON, exactly the signed bytes
  signature TEXT NOT NULL        -- base64 Ed25519 signature over payload
);
CREATE INDEX idx_image_registry_image ON image_registry(provider, image_id);
CREATE INDEX idx_image_registry_revokes ON image_registry(revokes);
-- Imported validation results (Trivy, OpenSCAP). ``resource_key`` is the cached resource's uid, or
-- ``artifact:<name>`` when the scanned artifact is not (yet) in the cache.
CREATE TABLE scan_imports (
  import_id INTEGER PRIMARY KEY,
  tool TEXT NOT NULL,            -- trivy | openscap
  source TEXT,
  sha256 TEXT NOT NULL,
  artifact TEXT,
  resource_key TEXT NOT NULL,
  resource_uid TEXT,
  resource_kind TEXT,
  scanned_at TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  actor TEXT,
  summary TEXT                   -- JSON
);
CREATE INDEX idx_scan_imports_key ON scan_imports(resource_key, tool);
-- One row per (resource, vulnerability, package) across imports: first_seen / fixed_at feed the
-- "critical vulnerabilities remediated within 7 days" KPI.
CREATE TABLE vulnerabilities (
  resource_key TEXT NOT NULL,
  resource_uid TEXT,
  vuln_id TEXT NOT NULL,
  pkg_name TEXT NOT NULL DEFAULT '',
  installed_version TEXT,
  fixed_version TEXT,
  severity TEXT NOT NULL,        -- critical | high | medium | low | unknown
  title TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  fixed_at TEXT,                 -- NULL while open
  last_import_id INTEGER NOT NULL,
  PRIMARY KEY (resource_key, vuln_id, pkg_name)
);
CREATE INDEX idx_vulnerabilities_uid ON vulnerabilities(resource_uid, severity, fixed_at);
-- The latest hardening evaluation of each resource (replaced on import).
CREATE TABLE hardening_scores (
  resource_key TEXT PRIMARY KEY,
  resource_uid TEXT,
  import_id INTEGER NOT NULL,
  benchmark TEXT,
  profile TEXT,
  score REAL,
  max_score REAL,
  passed INTEGER,
  failed INTEGER,
  scanned_at TEXT NOT NULL
);
CREATE INDEX idx_hardening_scores_uid ON hardening_scores(resource_uid);
CREATE TABLE hardening_results (
  resource_key TEXT NOT NULL,
  resource_uid TEXT,
  import_id INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  result TEXT NOT NULL,          -- pass | fail | error | notapplicable | notchecked | ...
  severity TEXT,                 -- XCCDF: high | medium | low | unknown (STIG CAT I/II/III)
  title TEXT,
  cce_ids TEXT,                  -- JSON lists
  stig_ids TEXT,
  cis_ids TEXT,
  PRIMARY KEY (resource_key, rule_id)
);
CREATE INDEX idx_hardening_results_uid ON hardening_results(resource_uid, result);
-- One row per cached image with its registry state and validation summary (the images view reads it;
-- signature state is added in Python, since SQL cannot check a signature).
CREATE VIEW image_overview AS
SELECT im.row_id AS row_id, im.uid AS uid, im.provider AS provider, im.account AS account,
       im.region AS region, im.id AS image_id, im.name AS name, im.created_at AS created_at,
       CAST(julianday('now') - julianday(im.created_at) AS INTEGER) AS age_days,
       COALESCE(im.owner, im.account) AS publisher, im.public AS public, im.encrypted AS encrypted,
       im.deprecated_at AS deprecated_at, ap.entry_id AS approval_entry,
       CASE WHEN ap.entry_id IS NULL THEN 'unapproved'
            WHEN EXISTS (SELECT 1 FROM image_registry AS rv WHERE rv.action = 'revoke'
                         AND rv.revokes = ap.entry_id) THEN 'revoked'
            ELSE 'approved' END AS approval,
       (SELECT COUNT(*) FROM instances AS i WHERE i.provider = im.provider AND i.image_id = im.id)
         AS instances,
       (SELECT COUNT(*) FROM vulnerabilities AS v WHERE v.resource_uid = im.uid AND v.fixed_at IS NULL
          AND v.severity = 'critical') AS critical_open,
       (SELECT COUNT(*) FROM vulnerabilities AS v WHERE v.resource_uid = im.uid AND v.fixed_at IS NULL
          AND v.severity = 'high') AS high_open,
       hs.score AS hardening_score, hs.failed AS hardening_failed
FROM images AS im
LEFT JOIN image_registry AS ap ON ap.entry_id = (
  SELECT MAX(a.entry_id) FROM image_registry AS a
  WHERE a.action = 'approve' AND a.provider = im.provider AND a.image_id = im.id)
LEFT JOIN hardening_scores AS hs ON hs.resource_uid = im.uid;
"""


def _migration_3(db: sqlite3.Connection) -> None:
    """Image factory: the signed approved-image registry and imported scan / hardening results."""
    for stmt in split_statements(_IMAGE_FACTORY_TABLES):
        db.execute(stmt)


# Single-column indexes of migration 1 that no check, view filter or join uses, each costing ~1 µs of
# every ingested row (``vmwb bench ingest``): scope_id is the prefix of (scope_id, task); nothing filters
# or sorts on first_seen; provider is one or two values per table (only the on-prem checks read hosts by
# it); created_at is read by the age checks of images, instances and snapshots only. Sorting the UI by a
# column without an index still works (a scan with a top-N sort).
_CREATED_AT_KINDS = ("image", "instance", "snapshot")


def _migration_4(db: sqlite3.Connection) -> None:
    """Drop the indexes nothing reads (see above)."""
    for kind, table in TABLES.items():
        dropped = ["scope_id", "first_seen"]
        if kind != "host":
            dropped.append("provider")
        if kind not in _CREATED_AT_KINDS:
            dropped.append("created_at")
        for col in dropped:
            db.execute(f"DROP INDEX IF EXISTS idx_{table}_{col}")


def _migration_5(db: sqlite3.Connection) -> None:
    """SNP-08's two retention windows (cloud days, hypervisor hours) are each a range on (provider,
    created_at); on created_at alone the hypervisor window walks nearly every snapshot."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_snapshots_provider_created ON snapshots(provider, created_at)"
    )


def _migration_6(db: sqlite3.Connection) -> None:
    """Replace migration 5's (provider, created_at) index: caches are not ANALYZEd, so the planner took it
    for every ``provider = 'aws'`` snapshot check (a walk over all snapshots). A partial index over the
    hypervisor snapshots serves SNP-08's hours window only (its WHERE implies the index's), costs nothing
    for cloud rows, and the cloud window keeps using created_at."""
    db.execute("DROP INDEX IF EXISTS idx_snapshots_provider_created")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_snapshots_hypervisor_created ON snapshots(created_at) "
        "WHERE provider IN ('libvirt', 'vsphere')"
    )


def _migration_7(db: sqlite3.Connection) -> None:
    """The registry checks (IMG-03, IMG-10) judge each image a VM runs, not each VM: with the provider in the
    image index, the distinct (image, provider) pairs are one walk of the index, and only the VMs of a
    failing image are read. The new index still serves every lookup by image_id alone."""
    db.execute("DROP INDEX IF EXISTS idx_instances_image_id")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_instances_image_provider ON instances(image_id, provider)"
    )


# The platforms a check may look at alone, as its SQL says it (the index's WHERE must be implied by the
# query's, and SQLite proves that by comparing the expressions).
_PLATFORM_ONLY = {
    "gcp": "provider = 'gcp'",
    "azure": "provider = 'azure'",
    "onprem": "provider IN ('libvirt', 'vsphere')",
}


def _migration_8(db: sqlite3.Connection) -> None:
    """Partial indexes per platform on the big tables: a GCP, Azure or on-prem check then reads that
    platform's rows only, where it scanned the whole table (most of an AWS-heavy estate's million rows, a
    dozen checks over). An index holds only its platform's rows, so the other rows' ingest costs nothing
    more. ANALYZE (after each sync) tells the planner how many rows each holds."""
    for table in ("instances", "volumes", "snapshots", "images"):
        for name, where in _PLATFORM_ONLY.items():
            db.execute(
                f"CREATE INDEX IF NOT EXISTS idx_{table}_only_{name} ON {table}(state) WHERE {where}"
            )


def _migration_9(db: sqlite3.Connection) -> None:
    """The kinds whose search index awaits a rebuild. Until then writes leave it alone (a first load is
    cheaper rebuilt than indexed row by row); after it, each write keeps it current in its own
    transaction. Every kind starts marked: a new cache is about to be loaded, and an older vmwb rebuilt
    only at the end of a sync, which it may not have reached."""
    db.execute("CREATE TABLE IF NOT EXISTS search_pending (kind TEXT PRIMARY KEY)")
    db.executemany("INSERT OR IGNORE INTO search_pending (kind) VALUES (?)", [(k,) for k in TABLES])


def _migration_imports(db: sqlite3.Connection) -> None:
    """Findings imported from other tools (Prowler, SARIF, Cloud Custodian) live beside vmwb's own: each
    import is a scan of its own ``source`` (never mixed into vmwb's scan history), remembered by the
    SHA-256 of its file so that importing the same file twice changes nothing."""
    db.execute("ALTER TABLE scans ADD COLUMN source TEXT NOT NULL DEFAULT 'vmwb'")
    db.execute("ALTER TABLE scans ADD COLUMN source_file TEXT")
    db.execute("ALTER TABLE scans ADD COLUMN source_sha256 TEXT")
    db.execute("ALTER TABLE findings ADD COLUMN source TEXT NOT NULL DEFAULT 'vmwb'")
    # The vmwb check an imported rule is equivalent to (check.toml [equivalents]): its guided fix applies.
    db.execute("ALTER TABLE findings ADD COLUMN maps_to TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS idx_scans_source ON scans(source, source_sha256)")


# The posture summary: findings counted by check, severity, area and status, kept by triggers on every write
# to ``findings`` (the scan engine's upserts, a test's direct insert alike), so the dashboard and the group
# counts read a few hundred rows instead of grouping every finding (5.4 s at a million resources). A NULL area
# is stored as '' (NULLs never collide in a key). The UPDATE trigger fires only when a counted column changes:
# a finding seen again as it was costs one comparison.
_FINDING_COUNTS = """
CREATE TABLE finding_counts (
  check_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  area TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (check_id, severity, area, status)
) WITHOUT ROWID;
CREATE TRIGGER finding_counts_insert AFTER INSERT ON findings BEGIN
  INSERT INTO finding_counts (check_id, severity, area, status, n)
  VALUES (new.check_id, new.severity, COALESCE(new.area, ''), new.status, 1)
  ON CONFLICT (check_id, severity, area, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER finding_counts_update AFTER UPDATE OF check_id, severity, area, status ON findings
WHEN old.check_id IS NOT new.check_id OR old.severity IS NOT new.severity
  OR old.area IS NOT new.area OR old.status IS NOT new.status
BEGIN
  UPDATE finding_counts SET n = n - 1 WHERE check_id = old.check_id AND severity = old.severity
    AND area = COALESCE(old.area, '') AND status = old.status;
  INSERT INTO finding_counts (check_id, severity, area, status, n)
  VALUES (new.check_id, new.severity, COALESCE(new.area, ''), new.status, 1)
  ON CONFLICT (check_id, severity, area, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER finding_counts_delete AFTER DELETE ON findings BEGIN
  UPDATE finding_counts SET n = n - 1 WHERE check_id = old.check_id AND severity = old.severity
    AND area = COALESCE(old.area, '') AND status = old.status;
END;
-- The KPIs each scan computed from the inventory it scanned (JSON), so posture is read, not recomputed.
CREATE TABLE scan_kpis (
  scan_id INTEGER PRIMARY KEY,
  kpis TEXT NOT NULL
);
-- The diff of two adjacent scans counts one scan's events by change and reads the first few of each change in
-- key order (key = check_id|resource_uid), from the index alone.
CREATE INDEX idx_finding_events_scan_change ON finding_events(scan_id, change, key);
INSERT INTO finding_counts (check_id, severity, area, status, n)
SELECT check_id, severity, COALESCE(area, ''), status, COUNT(*) FROM findings
GROUP BY check_id, severity, COALESCE(area, ''), status;
"""


def _migration_posture(db: sqlite3.Connection) -> None:
    """The posture summary (see above), filled from the findings already there; the scans' stored KPIs; the
    index the adjacent-scan diff walks."""
    for stmt in split_statements(_FINDING_COUNTS):
        db.execute(stmt)


def _migration_sync_owners(db: sqlite3.Connection) -> None:
    """The owner of every sync run (pid, process start time, host) and its heartbeat, so a run whose process
    was killed is settled as ``interrupted`` instead of staying ``running`` forever
    (:mod:`workbench.process_owner`). Idempotent: it adds only the columns that are missing."""
    have = {row[1] for row in db.execute("PRAGMA table_info(sync_runs)")}
    for column, typ in (
        ("owner_pid", "INTEGER"),
        ("owner_start", "TEXT"),
        ("owner_host", "TEXT"),
        ("heartbeat_at", "TEXT"),
    ):
        if column not in have:
            db.execute(f"ALTER TABLE sync_runs ADD COLUMN {column} {typ}")


def _migration_fix_claims(db: sqlite3.Connection) -> None:
    """Trust (issue 13): the cache's id and facts (``meta``); plans this cache made, each applied at most
    once (``fix_plans``); a claim per resource a fix is changing (``fix_claims``); and the owner of every
    journal entry (pid, process start time, host, heartbeat) so reconciliation touches only entries whose
    process is gone. An older unkeyed audit log is recorded as a legacy segment (see workbench/audit.py)."""
    import uuid

    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('cache_id', ?)", (uuid.uuid4().hex,)
    )
    legacy = db.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
    if legacy:
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('audit_legacy_end', ?)", (str(legacy),)
        )
    db.execute(
        "CREATE TABLE IF NOT EXISTS fix_plans ("
        " plan_id TEXT PRIMARY KEY, checksum TEXT NOT NULL, fix_id TEXT NOT NULL,"
        " created_at TEXT NOT NULL, created_by TEXT, consumed_at TEXT, consumed_by TEXT)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS fix_claims ("
        " resource_uid TEXT PRIMARY KEY, plan_id TEXT NOT NULL, owner_pid INTEGER NOT NULL,"
        " owner_start TEXT, owner_host TEXT NOT NULL, claimed_at TEXT NOT NULL, heartbeat TEXT NOT NULL)"
    )
    for column in ("owner_pid INTEGER", "owner_start TEXT", "owner_host TEXT", "heartbeat TEXT"):
        db.execute(f"ALTER TABLE journal ADD COLUMN {column}")


def _migration_mute_lifecycle(db: sqlite3.Connection) -> None:
    """Mutes with a lifecycle: an owner (who answers for the exception, by default its author) and a ticket,
    and the scope a mute was granted for: each finding it covered then, with a fingerprint of the check's
    evidence. When a covered resource's evidence changes, the mute no longer covers it (the finding reopens)
    and ``changed_at`` says when, so the stale exceptions can be listed."""
    db.execute("ALTER TABLE mutes ADD COLUMN owner TEXT")
    db.execute("ALTER TABLE mutes ADD COLUMN ticket TEXT")
    db.execute(
        "CREATE TABLE IF NOT EXISTS mute_scope (mute_id INTEGER NOT NULL, key TEXT NOT NULL, "
        "fingerprint TEXT NOT NULL, changed_at TEXT, PRIMARY KEY (mute_id, key))"
    )


_RESOURCE_VERSIONS = """
-- Every version of a resource the cache held (issue 14): canonical JSON of its row, zlib-compressed, stored
-- once per content hash however many resources or syncs share it. A resource gets versions only when it
-- first changes or goes (the row it had then is recorded as its first version, at its first_seen); until
-- then the live row is its only version. ``hash`` NULL marks a removal.
CREATE TABLE resource_blobs (
  hash TEXT PRIMARY KEY,         -- SHA-256 of the canonical JSON, hex
  body BLOB NOT NULL             -- zlib(canonical JSON)
);
CREATE TABLE resource_versions (
  seq INTEGER PRIMARY KEY,       -- orders versions recorded within the same second
  uid TEXT NOT NULL,
  kind TEXT NOT NULL,
  about_uid TEXT,                -- a grant's resource, so a resource's timeline finds its grants
  run_id INTEGER,
  at TEXT NOT NULL,
  hash TEXT
);
CREATE INDEX idx_resource_versions_uid ON resource_versions(uid, at);
CREATE INDEX idx_resource_versions_at ON resource_versions(at);
CREATE INDEX idx_resource_versions_about ON resource_versions(about_uid) WHERE about_uid IS NOT NULL;
"""


def _migration_resource_versions(db: sqlite3.Connection) -> None:
    """Resource history: each changed version kept (see above), for time travel and field-level diffs."""
    for stmt in split_statements(_RESOURCE_VERSIONS):
        db.execute(stmt)


# MIGRATIONS[n] upgrades version n to n+1. Append only.
MIGRATIONS: list[Migration] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_imports,
    _migration_posture,
    _migration_sync_owners,
    _migration_fix_claims,
    _migration_mute_lifecycle,
    _migration_resource_versions,
]

SCHEMA_VERSION = len(MIGRATIONS)

# Tables the cache keeps for itself (to-do lists, summaries derived from other tables): not the estate.
BOOKKEEPING_TABLES = ("search_pending", "finding_counts", "scan_kpis")


def resource_columns(kind: str) -> list[str]:
    """All column names of a kind's table except row_id, in table order."""
    return [name for name, _ in BASE_COLUMNS[1:]] + [name for name, _ in kind_columns(kind)]
