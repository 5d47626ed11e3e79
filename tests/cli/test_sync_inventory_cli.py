"""``vmwb sync``, ``vmwb inventory`` and ``vmwb bench`` end to end (the sync against the moto estate)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.emulators.aws_manifest import HOSTILE_NAME_XML, MAIN_ACCOUNT


def _config(tmp_path: Path, aws_estate, **extra: object) -> Path:  # type: ignore[no-untyped-def]
    section = {**aws_estate.section, **extra}
    lines = ["[aws]"] + [f"{k} = {json.dumps(v)}" for k, v in section.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_imports_no_cloud_sdk() -> None:
    code = (
        "import sys, contextlib, io\nfrom workbench.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('boto3', "
        "'botocore', 'google.cloud', 'azure', 'moto'))}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sync_prints_progress_and_summary(aws_estate, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    config = _config(tmp_path, aws_estate)
    with aws_estate.env():
        code = main(
            [
                "--db",
                str(tmp_path / "c.db"),
                "--config",
                str(config),
                "sync",
                "--region",
                "eu-west-1",
                "--workers",
                "8",
            ]
        )
    out = capsys.readouterr()
    assert code == 0, out.out
    progress = [line for line in out.err.splitlines() if line.startswith("[")]
    assert len(progress) == 2  # one line per finished scope: 2 accounts × 1 region
    assert all("eu-west-1: ok" in line for line in progress)
    table = out.out.splitlines()
    assert table[0].split() == ["SCOPE", "TASK", "STATUS", "RESOURCES", "ERROR"]
    assert len([line for line in table if " ok " in line]) == 14
    assert out.out.rstrip().splitlines()[-1].startswith("ok:")


def test_bad_config_is_one_line_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text("[aws]\nregions = 'eu-west-1'\n")
    code = main(["--db", str(tmp_path / "c.db"), "--config", str(bad), "sync"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "aws.regions must be a list" in err and "Traceback" not in err


def _inventory(db: Path, *args: str) -> str:
    buf = io.StringIO()
    old, sys.stdout = sys.stdout, buf
    try:
        assert main(["--db", str(db), "inventory", *args]) == 0
    finally:
        sys.stdout = old
    return buf.getvalue()


def test_inventory_json(aws_estate) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(_inventory(aws_estate.db_path, "snapshots", "--format", "json"))
    assert {f"aws:{r['account']}:{r['region']}:snapshot:{r['id']}" for r in rows} == (
        aws_estate.manifest.uids["snapshot"]
    )
    first = rows[0]
    assert {
        "provider",
        "account",
        "region",
        "kind",
        "id",
        "name",
        "tags",
        "stale",
        "public",
        "encrypted",
    } <= set(first)
    assert first["kind"] == "snapshot" and isinstance(first["tags"], dict)
    assert isinstance(first["stale"], bool) and not first["stale"]
    assert sum(r["public"] for r in rows) == len(aws_estate.manifest.category("public_snapshots"))


def test_inventory_filters_and_jsonl(aws_estate) -> None:  # type: ignore[no-untyped-def]
    lines = _inventory(
        aws_estate.db_path,
        "instances",
        "--format",
        "jsonl",
        "--account",
        MAIN_ACCOUNT,
        "--region",
        "eu-west-1",
        "--filter",
        "legacy",
    )
    (row,) = [json.loads(line) for line in lines.splitlines()]
    assert row["name"] == "legacy-db" and row["state"] == "stopped"
    assert isinstance(row["firewall_groups"], list)
    two = _inventory(aws_estate.db_path, "firewall-rules", "--format", "jsonl", "--limit", "2")
    assert len(two.splitlines()) == 2
    short = _inventory(aws_estate.db_path, "instances", "--format", "jsonl", "--filter", "1")
    assert {json.loads(x)["name"] for x in short.splitlines()} >= {"web-1", "app-1", "api-1"}


def test_inventory_table_is_inert(aws_estate) -> None:  # type: ignore[no-untyped-def]
    text = _inventory(aws_estate.db_path, "instances")
    assert "\x1b" not in text and "\u202e" not in text and "\x9b" not in text
    assert "[@click=app.quit]pwn" in text  # shown literally, never as markup
    assert HOSTILE_NAME_XML not in text


def test_inventory_csv_and_scopes(aws_estate) -> None:  # type: ignore[no-untyped-def]
    rows = list(
        csv.DictReader(io.StringIO(_inventory(aws_estate.db_path, "grants", "--format", "csv")))
    )
    assert len(rows) == aws_estate.manifest.count("grant")
    assert {r["grantee_kind"] for r in rows} == {"public", "account"}
    scopes = json.loads(_inventory(aws_estate.db_path, "scopes", "--format", "json"))
    assert {s["status"] for s in scopes} == {"ok"} and len(scopes) == 4 * 7


def test_inventory_unknown_kind(aws_estate, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--db", str(aws_estate.db_path), "inventory", "nope"]) == 2
    assert "unknown kind" in capsys.readouterr().err


def test_bench_registry() -> None:
    from workbench import plugins
    from workbench.cli.bench import run_bench
    from workbench.errors import WorkbenchError

    assert plugins.target("benches", "tui").endswith(":bench_virtual_table")
    with pytest.raises(WorkbenchError, match="unknown bench"):
        run_bench("nope")
    figures = run_bench("ingest", size=2_000)
    assert figures["resources"] == 2_000 and figures["resources_per_second"] > 0
