"""A self-contained posture report in HTML or Markdown.

Sections: posture summary, KPIs and the snapshot-risk breakdown (pygal charts, SVG inline in HTML, as data
URIs in Markdown, with the numbers in a table beside them), findings by area and by framework, what changed
since the previous scan, and the findings themselves. Nothing is fetched when the report is opened: pygal's
tooltip script is turned off and no stylesheet is linked.

Every string that came from a cloud goes through :func:`workbench.textsafe.safe`, then ``html.escape`` (HTML)
or :func:`md_escape` (Markdown).
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from workbench.cache import posture
from workbench.cache.posture import SEVERITIES
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.export.tabular import finding_records
from workbench.scan import compliance, diff, kpi
from workbench.scan.loader import AREAS, FRAMEWORKS, load_catalogue
from workbench.textsafe import safe

_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:75em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left;vertical-align:top}.critical{color:#a00;font-weight:bold}.high{color:#c50}"
    "svg{max-width:100%;height:auto}"
)
MAX_ROWS = 500  # findings listed in full; the rest are counted
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def md_escape(value: object, max_len: int | None = None) -> str:
    text = safe(value, max_len)
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def h(value: object, max_len: int | None = None) -> str:
    return html.escape(safe(value, max_len))


def _chart(title: str, values: list[tuple[str, float | None]]) -> str:
    import pygal
    from pygal.style import DefaultStyle

    chart = pygal.HorizontalBar(
        js=[],
        disable_xml_declaration=True,
        show_legend=False,
        range=(0, 100),
        width=640,
        height=60 + 42 * len(values),
        style=DefaultStyle,
        title=title,
        print_values=True,
    )
    chart.x_labels = [label for label, _ in values]
    chart.add("%", [v if v is not None else 0 for _, v in values])
    # pygal still inlines its config as a <script> for the tooltips we turned off: drop it, so the report
    # runs no code (and its Content-Security-Policy needs no script source).
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def gather(
    cache: Cache, now: str | None = None, params: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Everything the report shows, as data (also handy for tests). The counts are the read model's
    (:mod:`workbench.cache.posture`), the very ones the dashboard and the findings screen show."""
    now = now or utcnow()
    checks = load_catalogue()
    records = finding_records(cache.db, catalogue=checks)
    scans = posture.recent_scans(cache.db, 1)
    changes = diff.diff_scans(cache) if scans else None
    return {
        "generated_at": now,
        "scan": {"scan_id": scans[0].scan_id, "started_at": scans[0].started_at} if scans else None,
        "summary": posture.summary(cache.db),
        "records": records,
        "kpis": kpi.compute_kpis(cache, now, params),
        "compliance": compliance.summary(cache, checks),
        "diff": changes,
    }


def _by_area(s: posture.Summary) -> list[tuple[str, int]]:
    """Open findings per area title, in the order of the areas' slugs."""
    return [
        (AREAS.get(a or "", a or "?"), n) for a, n in sorted(s.by_area, key=lambda r: r[0] or "")
    ]


def _kpi_rows(k: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    p, s = k["patch"], k["snapshots"]
    patch = [
        ("Patch compliance", p["compliance"]),
        ("Patched within 30 days", p["patched_within_30d"]),
        ("Critical fixed within 7 days", p["critical_remediated_within_7d"]),
        ("Automated deployment success", p["auto_deploy_success"]),
    ]
    snaps = [
        ("Public", s["public"]),
        ("Shared outside allowlist", s["shared_outside_allowlist"]),
        ("Unencrypted", s["unencrypted"]),
        ("Past retention", s["past_retention"]),
    ]
    return patch, snaps


def _pct(item: dict[str, Any]) -> str:
    return (
        "n/a"
        if item["value"] is None
        else f"{item['value']:.1f}% ({item['count']}/{item['total']})"
    )


def render_html(data: dict[str, Any]) -> str:
    s: posture.Summary = data["summary"]
    patch, snaps = _kpi_rows(data["kpis"])
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>vmwb posture report</title><style>{_CSS}</style></head><body>",
        "<h1>VM Security Workbench: posture report</h1>",
        f"<p>Generated {h(data['generated_at'])}"
        + (
            f" from scan {data['scan']['scan_id']} ({h(data['scan']['started_at'])})"
            if data["scan"]
            else ""
        )
        + "</p>",
        "<h2>Posture summary</h2><table><tr><th>Open</th><th>Muted</th>"
        + "".join(f"<th>{sev}</th>" for sev in SEVERITIES)
        + f"</tr><tr><td>{s.open}</td><td>{s.muted}</td>"
        + "".join(f"<td>{s.by_severity.get(sev, 0)}</td>" for sev in SEVERITIES)
        + "</tr></table>",
        "<h2>Patch KPIs</h2>",
        _chart("Patch KPIs (%)", [(label, item["value"]) for label, item in patch]),
        _html_kv(patch),
        "<h2>Snapshot risk</h2>",
        _chart(
            f"Share of {data['kpis']['snapshots']['total']} snapshots (%)",
            [(label, item["value"]) for label, item in snaps],
        ),
        _html_kv(snaps),
        "<h2>Findings by area</h2><table><tr><th>Area</th><th>Open</th></tr>"
        + "".join(f"<tr><td>{html.escape(title)}</td><td>{n}</td></tr>" for title, n in _by_area(s))
        + "</table>",
        "<h2>Compliance by framework</h2><table><tr><th>Framework</th><th>Version</th><th>Controls"
        "</th><th>Passing</th><th>Failing</th><th>Not assessed</th></tr>"
        + "".join(
            f"<tr><td>{html.escape(f['title'])}</td><td>{html.escape(', '.join(f['versions']))}</td>"
            f"<td>{f['covered']}</td><td>{f['passing']}</td><td>{f['failing']}</td>"
            f"<td>{f['not_assessed']}</td></tr>"
            for f in data["compliance"]
        )
        + "</table>",
        "<h2>Changes since the previous scan</h2>",
        _html_changes(data["diff"]),
        "<h2>Findings</h2>",
        _html_findings(data["records"]),
        "</body></html>",
    ]
    return "\n".join(out) + "\n"


def _html_kv(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{_pct(item)}</td>"
        f"<td>{html.escape(item['definition'])}</td></tr>"
        for label, item in rows
    )
    return f"<table><tr><th>KPI</th><th>Value</th><th>Definition</th></tr>{body}</table>"


def _html_changes(d: dict[str, Any] | None) -> str:
    if d is None:
        return "<p>No scan yet.</p>"
    parts = [
        (
            f"<p>Scan {d['from_scan']} → {d['to_scan']}: {len(d['new'])} new, "
            f"{len(d['resolved'])} resolved, {len(d['changed'])} changed.</p>"
        )
    ]
    for name in ("new", "resolved", "changed"):
        if d[name]:
            rows = "".join(
                f"<tr><td>{h(f['check_id'])}</td><td>{h(f['resource_id'], 80)}</td>"
                f"<td>{h(f['status'])}</td><td>{h(f['reason'], 200)}</td></tr>"
                for f in d[name][:MAX_ROWS]
            )
            parts.append(
                f"<h3>{name.capitalize()}</h3><table><tr><th>Check</th><th>Resource</th>"
                f"<th>Status</th><th>Reason</th></tr>{rows}</table>"
            )
    return "".join(parts)


def _html_findings(records: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td class='{h(r['severity'])}'>{h(r['severity'])}</td><td>{h(r['check_id'])}</td>"
        f"<td>{h(r['title'])}</td><td>{h(r['status'])}</td><td>{h(r['account'])}/{h(r['region'])}</td>"
        f"<td>{h(r['resource_id'], 80)}</td><td>{h(r['resource_name'], 60)}</td>"
        f"<td>{h(r['reason'], 300)}</td><td>{h(_fw(r))}</td></tr>"
        for r in records[:MAX_ROWS]
    )
    more = f"<p>… and {len(records) - MAX_ROWS} more.</p>" if len(records) > MAX_ROWS else ""
    return (
        "<table><tr><th>Severity</th><th>Check</th><th>Title</th><th>Status</th><th>Scope</th>"
        f"<th>Resource</th><th>Name</th><th>Reason</th><th>Frameworks</th></tr>{rows}</table>{more}"
    )


def _fw(r: dict[str, Any]) -> str:
    return "; ".join(
        f"{FRAMEWORKS[k][0] if k in FRAMEWORKS else k} {' '.join(v['ids'])}"
        for k, v in r["frameworks"].items()
    )


def _md_chart(title: str, rows: list[tuple[str, Any]]) -> str:
    svg = _chart(title, [(label, item["value"]) for label, item in rows])
    data = base64.b64encode(svg.encode()).decode()
    return f"![{title}](data:image/svg+xml;base64,{data})"


def render_md(data: dict[str, Any]) -> str:
    s: posture.Summary = data["summary"]
    patch, snaps = _kpi_rows(data["kpis"])
    lines = [
        "# VM Security Workbench: posture report",
        "",
        f"Generated {md_escape(data['generated_at'])}.",
    ]
    lines += [
        "",
        "## Posture summary",
        "",
        "| Open | Muted | " + " | ".join(SEVERITIES) + " |",
        "|---" * (2 + len(SEVERITIES)) + "|",
        f"| {s.open} | {s.muted} | "
        + " | ".join(str(s.by_severity.get(sev, 0)) for sev in SEVERITIES)
        + " |",
    ]
    for title, rows in (("Patch KPIs", patch), ("Snapshot risk", snaps)):
        lines += [
            "",
            f"## {title}",
            "",
            _md_chart(f"{title} (%)", rows),
            "",
            "| KPI | Value | Definition |",
            "|---|---|---|",
        ]
        lines += [f"| {label} | {_pct(item)} | {item['definition']} |" for label, item in rows]
    lines += ["", "## Findings by area", "", "| Area | Open |", "|---|---|"]
    lines += [f"| {title} | {n} |" for title, n in _by_area(s)]
    lines += [
        "",
        "## Compliance by framework",
        "",
        "| Framework | Version | Controls | Passing | Failing | Not assessed |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f['title']} | {', '.join(f['versions'])} | {f['covered']} | {f['passing']} | "
        f"{f['failing']} | {f['not_assessed']} |"
        for f in data["compliance"]
    ]
    lines += ["", "## Changes since the previous scan", ""]
    d = data["diff"]
    if d is None:
        lines.append("No scan yet.")
    else:
        lines.append(
            f"Scan {d['from_scan']} → {d['to_scan']}: {len(d['new'])} new, "
            f"{len(d['resolved'])} resolved, {len(d['changed'])} changed."
        )
        for name in ("new", "resolved", "changed"):
            for f in d[name][:MAX_ROWS]:
                lines.append(
                    f"- {name}: {md_escape(f['check_id'])} {md_escape(f['resource_id'], 80)}: "
                    f"{md_escape(f['reason'], 200)}"
                )
    lines += [
        "",
        "## Findings",
        "",
        "| Severity | Check | Status | Scope | Resource | Name | Reason |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in data["records"][:MAX_ROWS]:
        lines.append(
            f"| {r['severity']} | {md_escape(r['check_id'])} | {r['status']} | "
            f"{md_escape(r['account'])}/{md_escape(r['region'])} | {md_escape(r['resource_id'], 80)} | "
            f"{md_escape(r['resource_name'], 60)} | {md_escape(r['reason'], 300)} |"
        )
    if len(data["records"]) > MAX_ROWS:
        lines.append(f"\n… and {len(data['records']) - MAX_ROWS} more.")
    return "\n".join(lines) + "\n"


def render(
    cache: Cache, fmt: str, *, now: str | None = None, params: dict[str, Any] | None = None
) -> str:
    data = gather(cache, now, params)
    return render_html(data) if fmt == "html" else render_md(data)
