"""``vmwb inventory KIND``: list cached resources as a table, JSON, JSON lines or CSV.

Every row carries provider, account, region, kind, id, name, the kind's normalized columns (JSON decoded),
tags and ``stale`` (true when the last attempt of the task that wrote the row failed, or a call behind the row
itself failed and it is kept as it was known, so the row may be old; ``extra.stale`` then says why).
Untrusted text is made inert (``workbench.textsafe``) in the table and in CSV; JSON keeps the exact values.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from workbench.cli.context import CliContext

SCOPES = "scopes"
# Columns shown by the table format (JSON and CSV have them all).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "instance": ("state", "instance_type", "public_ip", "imds_tokens"),
    "volume": ("state", "size_gb", "encrypted"),
    "snapshot": ("encrypted", "public", "source_volume_id"),
    "image": ("public", "encrypted", "owner"),
    "firewall_rule": (
        "group_id",
        "direction",
        "protocol",
        "port_from",
        "port_to",
        "source",
        "world_open",
    ),
    "grant": ("resource_id", "grantee_kind", "grantee", "permission"),
    "setting": ("value",),
    "patch_state": ("missing_count", "critical_missing", "agent_online"),
}
SCOPE_COLUMNS = (
    "scope_id",
    "task",
    "provider",
    "account",
    "region",
    "label",
    "status",
    "last_attempt_at",
    "last_success_at",
    "resources",
    "error",
)


def kinds() -> dict[str, str]:
    """CLI name (plural, dashed) → model kind."""
    from workbench.cache import schema

    return {table.replace("_", "-"): kind for kind, table in schema.TABLES.items()}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inventory",
        help="list cached resources",
        description="List what the cache holds, one kind at a time.",
    )
    p.add_argument(
        "kind",
        metavar="KIND",
        help="instances, volumes, snapshots, images, firewall-rules, grants, scopes, "
        "firewall-groups, networks, subnets, settings, patch-states, hosts",
    )
    p.add_argument("--filter", metavar="TEXT", help="match id, name, tag keys and values")
    p.add_argument("--provider", metavar="P")
    p.add_argument("--account", metavar="A")
    p.add_argument("--region", metavar="R")
    p.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the estate as of a past sync: 2026-11-30, 2026-11-30T09:00Z, 3d, monday",
    )
    p.set_defaults(func=run)


def _json_columns(kind: str) -> tuple[set[str], set[str]]:
    """(columns stored as JSON, columns stored as 0/1 booleans) of a kind's table."""
    from workbench import model

    cls = model.RECORD_TYPES[kind]
    hints = typing.get_type_hints(cls)
    as_json = {"tags", "extra"} | {
        n for n, h in hints.items() if any(t in str(h) for t in ("list", "dict", "Any"))
    }
    as_bool = {n for n, h in hints.items() if "bool" in str(h)} | {"world_open"}
    return as_json - {"raw"}, as_bool


def _decode(text: str) -> Any:
    # ``Any`` columns (a setting's value) hold JSON for lists and dicts but plain text for strings.
    try:
        return json.loads(text)
    except ValueError:
        return text


def query(db: sqlite3.Connection, kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from workbench.cache import schema

    table = schema.TABLES[kind]
    where, params = ["1=1"], []
    for col in ("provider", "account", "region"):
        if getattr(args, col, None):
            where.append(f"t.{col} = ?")
            params.append(getattr(args, col))
    text = (args.filter or "").strip()
    if len(text) >= 3:  # the trigram index needs three characters
        where.append(f"t.row_id IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?)")
        params.append('"' + text.replace('"', '""') + '"')
    elif text:
        where.append("t.search LIKE ? ESCAPE '\\'")
        params.append(
            "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    limit = f" LIMIT {int(args.limit)}" if args.limit is not None else ""
    own = [name for name, _ in schema.kind_columns(kind)]
    cols = ", ".join(
        f"t.{c}"
        for c in [
            "provider",
            "account",
            "region",
            "id",
            "name",
            "created_at",
            "first_seen",
            "last_seen",
            *own,
            "tags",
            "extra",
        ]
    )
    sql = (
        f"SELECT {cols}, (COALESCE(s.status, 'ok') <> 'ok' "
        f"OR json_extract(t.extra, '$.stale') IS NOT NULL) AS stale FROM {table} t "
        "LEFT JOIN scope_status s ON s.scope_id = t.scope_id AND s.task = t.task "
        f"WHERE {' AND '.join(where)} ORDER BY t.provider, t.account, t.region, t.id{limit}"
    )
    as_json, as_bool = _json_columns(kind)
    rows = []
    for row in db.execute(sql, params):
        out: dict[str, Any] = {}
        for key, value in dict(row).items():
            if key in as_json and isinstance(value, str):
                value = _decode(value)
            elif (key in as_bool or key == "stale") and value is not None:
                value = bool(value)
            out[key] = value
        out["kind"] = kind
        rows.append(out)
    return rows


def query_at(
    db: sqlite3.Connection, kind: str, args: argparse.Namespace, when: str
) -> list[dict[str, Any]]:
    """``query``'s rows as the cache knew them at ``when`` (from the resource history)."""
    from workbench.cache import history, schema

    own = [name for name, _ in schema.kind_columns(kind)]
    keys = ["provider", "account", "region", "id", "name", "created_at", *own, "tags", "extra"]
    as_json, as_bool = _json_columns(kind)
    text = (args.filter or "").strip().lower()
    rows = []
    for version in history.rows_at(db, kind, when):
        if any(getattr(args, c, None) and version.get(c) != getattr(args, c) for c in keys[:3]):
            continue
        if (
            text
            and text
            not in " ".join(str(version.get(c) or "") for c in ("id", "name", "tags")).lower()
        ):
            continue
        out: dict[str, Any] = {}
        for key in keys:
            value = version.get(key)
            if key in as_json and isinstance(value, str):
                value = _decode(value)
            elif key in as_bool and value is not None:
                value = bool(value)
            out[key] = value
        out["kind"] = kind
        rows.append(out)
    rows.sort(key=lambda r: (r["provider"], r["account"], r["region"], r["id"]))
    return rows[: args.limit] if args.limit is not None else rows


def query_scopes(db: sqlite3.Connection, args: argparse.Namespace) -> list[dict[str, Any]]:
    where, params = ["1=1"], []
    for col in ("provider", "account", "region"):
        if getattr(args, col, None):
            where.append(f"{col} = ?")
            params.append(getattr(args, col))
    if args.filter:
        where.append("(scope_id || ' ' || COALESCE(label,'') || ' ' || COALESCE(error,'')) LIKE ?")
        params.append(f"%{args.filter}%")
    limit = f" LIMIT {int(args.limit)}" if args.limit is not None else ""
    sql = (
        f"SELECT {', '.join(SCOPE_COLUMNS)} FROM scope_status WHERE {' AND '.join(where)} "
        f"ORDER BY scope_id, task{limit}"
    )
    return [
        {**dict(row), "kind": "scope", "stale": row["status"] != "ok"}
        for row in db.execute(sql, params)
    ]


def _textsafe() -> tuple[Callable[..., str], Callable[[Any], Any]]:
    try:
        from workbench.textsafe import csv_cell, safe
    except ImportError:  # pragma: no cover - textsafe ships with the core
        return (lambda s, max_len=None: "" if s is None else repr(s)), (lambda s: s)
    return safe, csv_cell


def _text(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def render_table(rows: list[dict[str, Any]], columns: list[str], max_width: int = 48) -> str:
    safe, _ = _textsafe()
    grid = [[c.upper() for c in columns]]
    grid += [[safe(_text(r.get(c)), max_len=max_width) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in grid) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in grid
    )


# The names the app's ``:`` command line knows (``:vm``, ``:snap`` …), so what works there works here.
APP_NAMES = {
    "vm": "instances",
    "vms": "instances",
    "instance": "instances",
    "i": "instances",
    "vol": "volumes",
    "volume": "volumes",
    "disk": "volumes",
    "disks": "volumes",
    "snap": "snapshots",
    "snaps": "snapshots",
    "snapshot": "snapshots",
    "img": "images",
    "image": "images",
    "ami": "images",
    "fw": "firewall-rules",
    "rules": "firewall-rules",
    "sg": "firewall-rules",
    "fwg": "firewall-groups",
    "nsg": "firewall-groups",
    "grant": "grants",
    "shares": "grants",
    "net": "networks",
    "network": "networks",
    "vpc": "networks",
    "host": "hosts",
}


def time_option(text: str, ctx: CliContext) -> str:
    """``--at``/``--since`` as the cache's UTC text; one line when it is no time, a note when it is before
    the history kept."""
    from workbench.cache.history import horizon_note
    from workbench.clock import parse_when, utcnow
    from workbench.errors import WorkbenchError

    when = parse_when(text)
    if when is None:
        raise WorkbenchError(
            f"{text!r} is not a time: give 2026-11-30, 2026-11-30T09:00Z, an age (3d, 12h) or a weekday"
        )
    note = horizon_note(utcnow(), ctx.config.policy.history_retention_days, when)
    if note:
        print(f"vmwb: note: {note}", file=sys.stderr)
    return when


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.errors import WorkbenchError

    names = kinds()
    args.kind = APP_NAMES.get(args.kind.lower(), args.kind.lower())
    if args.kind != SCOPES and args.kind not in names:
        raise WorkbenchError(f"unknown kind {args.kind!r} (one of: {SCOPES}, {', '.join(names)})")
    when = time_option(args.at, ctx) if args.at else None
    if when is not None and args.kind == SCOPES:
        raise WorkbenchError("--at shows resources as they were; scopes have no history")
    db = ctx.cache(create=False).db
    if args.kind == SCOPES:
        rows = query_scopes(db, args)
        columns = list(SCOPE_COLUMNS)
    elif when is not None:
        kind = names[args.kind]
        rows = query_at(db, kind, args, when)
        columns = ["account", "region", "id", "name", *TABLE_COLUMNS.get(kind, ())]
        print(f"as of {when}", file=sys.stderr)
    else:
        kind = names[args.kind]
        rows = query(db, kind, args)
        columns = ["account", "region", "id", "name", *TABLE_COLUMNS.get(kind, ()), "stale"]
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    elif args.format == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    elif args.format == "csv":
        import csv

        _, csv_cell = _textsafe()
        keys = list(rows[0]) if rows else columns
        writer = csv.writer(out)
        writer.writerow(keys)
        for row in rows:
            writer.writerow([csv_cell(_text(row.get(k))) for k in keys])
    else:
        out.write(render_table(rows, columns) + "\n")
        print(f"{len(rows)} row(s)", file=sys.stderr)
    return 0
