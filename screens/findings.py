"""Findings: every current finding, grouped by check, severity, area or framework, with mute and guided fix.

The left pane lists the groups of the chosen grouping (``g`` cycles it) with their counts; the table on the right
pages the findings of the highlighted group straight from the cache (a :class:`VirtualTable`, so 100k findings
cost no more than ten). ``/`` filters, space selects several, ``m`` mutes the selection with a reason and an
expiry (the rule is exact: these checks on these resources), ``u`` removes the mute, Enter opens the resource,
``f`` starts the guided fix. ``t`` cycles the status shown (open and muted, open, muted, resolved).

A mute is a rule that applies at scan time, so after adding or removing one the affected checks are re-run at
once (in a worker, with the config's parameters) and the table shows the new status.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from workbench.cache import posture
from workbench.cache.posture import GROUPINGS, severity_rank_sql
from workbench.cache.table_source import Column, Row, SqlTableSource, TableState
from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import (
    SEVERITY_SHORT,
    SEVERITY_STYLE,
    now_iso,
    operator,
    refresh_screens,
    scan_config,
    write_cache,
)
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

STATUSES = {
    "current": ("open", "muted"),
    "open": ("open",),
    "muted": ("muted",),
    "resolved": ("resolved",),
}
COLUMNS = [
    Column("severity", "Sev", 5),
    Column("check_id", "Check", 7, cut="never"),
    Column("status", "Status", 8),
    Column("resource_id", "Resource", 20, cut="middle"),
    Column("resource_name", "Name", 14),
    Column("account", "Account", 12, cut="middle"),
    Column("region", "Region", 10),
    Column("reason", "Reason", 30),
]


# Below 120 columns the table keeps what identifies a finding (eight columns in the 60-odd cells left
# beside the group pane at 100 cut every one of them); the detail line below shows the rest.
NARROW_BELOW = 120
NARROW_COLUMNS = [
    c for c in COLUMNS if c.name in ("severity", "check_id", "status", "resource_id", "reason")
]


class FindingsSource(SqlTableSource):
    """The findings table; "sorted by severity" means by rank (critical first), not alphabetically."""

    def __init__(self, db_path: Any, columns: list[Column]) -> None:
        super().__init__(
            db_path,
            "findings",
            columns,
            key="finding_id",
            sort="severity",
            sort_sql={"severity": severity_rank_sql()},
        )

    def page(self, offset: int, limit: int, state: TableState | None = None) -> list[Row]:
        rows = super().page(offset, limit, state)
        return [(r[0], SEVERITY_SHORT.get(r[1], r[1]), *r[2:]) for r in rows]


def parse_args(args: str) -> tuple[str, str | None, str]:
    """``check=SNP-01`` / ``severity=high`` / ``area=sprawl`` / ``status=resolved`` / a bare check id."""
    grouping, value, status = "check", None, "current"
    for term in args.split():
        key, sep, val = term.partition("=")
        if not sep:
            key, val = "check", term
        if key == "status" and val in STATUSES:
            status = val
        elif key in GROUPINGS:
            grouping, value = key, (val.upper() if key == "check" else val)
        else:
            raise ValueError(
                f"findings: unknown filter {term!r} (check=, severity=, area=, framework=, status=)"
            )
    return grouping, value, status


class FindingsScreen(WorkbenchScreen):
    STYLE = "findings"
    VIEW_TITLE = "Findings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Back"),
        Binding("g", "cycle_grouping", "Group by"),
        Binding("t", "cycle_status", "Status"),
        Binding("m", "mute", "Mute"),
        Binding("u", "unmute", "Unmute"),
        Binding("f", "fix", "Fix"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.grouping, self.group_value, self.status = parse_args(args)
        self._groups: list[tuple[str, Any]] = []  # option index -> (label, value); value None = all

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="fnd-panes"):
            yield OptionList(id="fnd-groups")
            with Vertical(id="fnd-main"):
                yield Input(
                    placeholder="filter: 3+ characters of a check, resource, account, reason "
                    "(Enter keeps, Esc clears)",
                    id="fnd-filter",
                )
                # Columns are chosen once for the terminal's width at open (a resize keeps them).
                columns = NARROW_COLUMNS if self.app.size.width < NARROW_BELOW else COLUMNS
                source = FindingsSource(self.app.services.cache_path, columns)  # type: ignore[attr-defined]
                yield VirtualTable(source, id="fnd-table")
        yield Static("", id="fnd-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one("#fnd-filter").display = False
        self._load_groups(select=self.group_value)
        self.table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#fnd-table", VirtualTable)

    # -- groups -----------------------------------------------------------------------------
    def _statuses(self) -> tuple[str, ...]:
        return STATUSES[self.status]

    def _group_rows(self) -> list[tuple[Text, Any, int]]:
        from workbench.scan.loader import AREAS, FRAMEWORKS, load_catalogue

        catalogue = {c.id: c for c in load_catalogue()}
        frameworks = {
            key: [c.id for c in catalogue.values() if key in c.frameworks] for key in FRAMEWORKS
        }
        with self.reader() as db:
            groups = posture.group_counts(db, self.grouping, self._statuses(), frameworks)
        rows: list[tuple[Text, Any, int]] = []
        for g in groups:
            value = g.value or ""
            if self.grouping == "check":
                title = catalogue[value].title if value in catalogue else ""
                label = Text.assemble(
                    (f"{safe(value):<7} ", "bold"),
                    (
                        f"{SEVERITY_SHORT.get(g.severity, g.severity):<4} ",
                        SEVERITY_STYLE.get(g.severity, ""),
                    ),
                    (f"{g.count:>4} ", ""),
                    (safe(title), "dim"),
                    no_wrap=True,
                    overflow="ellipsis",
                )
            elif self.grouping == "severity":
                label = Text.assemble(
                    (f"{safe(value):<14}", SEVERITY_STYLE.get(value, "")), f"{g.count:>5}"
                )
            elif self.grouping == "area":
                title = AREAS.get(value, value or "?")
                label = Text(f"{safe(title, 23):<23} {g.count:>5}", no_wrap=True)
            else:
                title = FRAMEWORKS[value][0]
                label = Text(f"{safe(title, 23):<23} {g.count:>5}", no_wrap=True)
            rows.append((label, g.value, g.count))
        return rows

    def _load_groups(self, select: Any = None) -> None:
        rows = self._group_rows()
        total = sum(n for _, _, n in rows)
        self._groups = [(f"All {self.status} findings", None)] + [(str(t), v) for t, v, _ in rows]
        groups = self.query_one("#fnd-groups", OptionList)
        groups.clear_options()
        groups.add_option(
            Option(Text.assemble((f"All ({self.status})", "bold"), f"  {total}"), id="0")
        )
        for i, (label, _, _) in enumerate(rows, start=1):
            groups.add_option(Option(label, id=str(i)))
        groups.border_title = Text(f"by {self.grouping} (g)")
        index = next(
            (i for i, (_, v) in enumerate(self._groups) if v == select and select is not None), 0
        )
        groups.highlighted = index
        self._apply_group(self._groups[index][1])

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "fnd-groups" and event.option.id is not None:
            index = int(event.option.id)
            if index < len(self._groups):
                self._apply_group(self._groups[index][1])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "fnd-groups":
            self.table.focus()

    def _apply_group(self, value: Any) -> None:
        self.group_value = value
        check_ids = None
        if value is not None and self.grouping == "framework":
            from workbench.scan.loader import load_catalogue

            check_ids = [c.id for c in load_catalogue() if value in c.frameworks]
        where, params = posture.group_filter(self._statuses(), self.grouping, value, check_ids)
        self.table.set_where(where, params)
        title = "Findings" if value is None else f"Findings: {self.grouping} {value}"
        self.table.border_title = Text(f"{safe(title)} · {self.status}")

    def action_cycle_grouping(self) -> None:
        self.grouping = GROUPINGS[(GROUPINGS.index(self.grouping) + 1) % len(GROUPINGS)]
        self._load_groups()

    def action_cycle_status(self) -> None:
        names = list(STATUSES)
        self.status = names[(names.index(self.status) + 1) % len(names)]
        self.table.clear_selection()
        self._load_groups(select=self.group_value)

    # -- filter -----------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#fnd-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fnd-filter":
            self.table.set_filter(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fnd-filter":
            self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#fnd-filter", Input)
        if box.display or box.value:
            box.value = ""
            box.display = False
            self.table.set_filter("")
            self.table.focus()
        else:
            self.app.action_back()  # type: ignore[attr-defined]

    # -- the highlighted finding ------------------------------------------------------------
    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self._show_detail(event.key)

    def on_virtual_table_count_changed(self, event: VirtualTable.CountChanged) -> None:
        self._show_detail(self.table.cursor_key)

    def _show_detail(self, finding_id: Any) -> None:
        detail = self.query_one("#fnd-detail", Static)
        if finding_id is None:
            detail.update(Text("no finding here", style="dim"))
            return
        with self.reader() as db:
            found = posture.finding_detail(db, int(finding_id))
        if found is None:
            detail.update("")
            return
        text = Text.assemble(
            (f"{safe(found.check_id)} ", "bold"),
            (f"{_check_title(found.check_id)}\n", ""),
            (safe(found.resource_uid), "dim"),
            "\n",
            safe(found.reason),
            "\n",
            (f"first seen {safe(found.first_seen)} · last seen {safe(found.last_seen)}", "dim"),
        )
        if found.status == "muted" and found.mute_reason:
            text.append(
                f"\nmuted by {safe(found.mute_author)} until {safe(found.mute_expires_at)}: "
                f"{safe(found.mute_reason)}",
                style="yellow",
            )
        detail.update(text)

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        with self.reader() as db:
            refs = posture.finding_refs(db, [int(event.key)])
        if refs:
            self.app.open_resource(refs[0].resource_uid)  # type: ignore[attr-defined]

    # -- mute / unmute ----------------------------------------------------------------------
    def chosen(self) -> list[Any]:
        """The selected findings, or the one under the cursor."""
        keys = sorted(self.table.selected_keys)
        if not keys and self.table.cursor_key is not None:
            keys = [self.table.cursor_key]
        return keys

    def _rows(self, keys: list[Any]) -> list[posture.FindingRef]:
        with self.reader() as db:
            return posture.finding_refs(db, [int(k) for k in keys])

    def _may_mute(self, action: str) -> bool:
        """The core's rule; a refusal is audited (in a worker: it writes) and said in one line."""
        from workbench.errors import PermissionDenied
        from workbench.scan.mutes import require_mute_rights

        try:
            require_mute_rights(self.app.services.role)  # type: ignore[attr-defined]
        except PermissionDenied:
            self._refused(action)
            return False
        return True

    @work(thread=True, group="findings-write", exit_on_error=False)
    def _refused(self, action: str) -> None:
        from workbench.errors import PermissionDenied
        from workbench.scan.mutes import authorize

        role = self.app.services.role  # type: ignore[attr-defined]
        try:
            with write_cache(self.app) as cache:
                authorize(cache, operator(self.app), role, action, "mute:new")
        except PermissionDenied as exc:
            self.app.call_from_thread(
                self.app.notify, safe(str(exc)), severity="error", markup=False
            )
        except Exception as exc:
            self.app.call_from_thread(self._failed, action, exc)

    def action_mute(self) -> None:
        if not self._may_mute("mute"):
            return
        rows = [r for r in self._rows(self.chosen()) if r.status == "open"]
        if not rows:
            self.app.notify("nothing open to mute here", severity="warning", markup=False)
            return
        by_check: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            by_check[r.check_id].append(r.resource_uid)
        summary = f"{len(rows)} finding(s) of {', '.join(sorted(by_check))}"
        from workbench.screens.mute_dialog import MuteDialog

        def done(answer: dict[str, str] | None) -> None:
            if answer:
                self._mute(dict(by_check), answer)

        self.app.push_screen(MuteDialog(summary, operator(self.app), now_iso(self.app)), done)

    @work(thread=True, exclusive=True, group="findings-write", exit_on_error=False)
    def _mute(self, by_check: dict[str, list[str]], answer: dict[str, str]) -> None:
        from workbench.scan.engine import run_scan
        from workbench.scan.mutes import add_mute

        author, now = operator(self.app), now_iso(self.app)
        role = self.app.services.role  # type: ignore[attr-defined]
        expires_at = answer["expires_at"]
        try:
            with write_cache(self.app) as cache:
                # One exact rule per check: that check on exactly these resources (patterns match in full).
                ids = [
                    add_mute(
                        cache,
                        reason=answer["reason"],
                        author=author,
                        role=role,
                        owner=answer.get("owner") or None,
                        ticket=answer.get("ticket") or None,
                        expires_at=expires_at,
                        check=re.escape(check_id),
                        resource="(?:" + "|".join(re.escape(u) for u in uids) + ")",
                        now=now,
                    )
                    for check_id, uids in by_check.items()
                ]
                run_scan(
                    cache,
                    check_ids=list(by_check),
                    now=now,
                    config=scan_config(self.app),
                )
        except Exception as exc:
            self.app.call_from_thread(self._failed, "mute", exc)
            return
        self.app.call_from_thread(
            self._written, f"muted: rule(s) {', '.join(map(str, ids))} until {expires_at}"
        )

    def action_unmute(self) -> None:
        if not self._may_mute("unmute"):
            return
        rows = [
            r for r in self._rows(self.chosen()) if r.status == "muted" and r.mute_id is not None
        ]
        if not rows:
            self.app.notify("nothing muted here", severity="warning", markup=False)
            return
        self._unmute(
            sorted({int(r.mute_id) for r in rows if r.mute_id is not None}),
            sorted({r.check_id for r in rows}),
        )

    @work(thread=True, exclusive=True, group="findings-write", exit_on_error=False)
    def _unmute(self, mute_ids: list[int], checks: list[str]) -> None:
        from workbench.scan.engine import run_scan
        from workbench.scan.mutes import remove_mute

        try:
            with write_cache(self.app) as cache:
                for mute_id in mute_ids:
                    remove_mute(
                        cache,
                        mute_id,
                        author=operator(self.app),
                        role=self.app.services.role,  # type: ignore[attr-defined]
                        reason="unmuted in the TUI",
                        now=now_iso(self.app),
                    )
                run_scan(
                    cache,
                    check_ids=checks,
                    now=now_iso(self.app),
                    config=scan_config(self.app),
                )
        except Exception as exc:
            self.app.call_from_thread(self._failed, "unmute", exc)
            return
        # A rule may cover more findings than were selected: say which rules went.
        self.app.call_from_thread(
            self._written, f"removed mute rule(s) {', '.join(map(str, mute_ids))}"
        )

    def _written(self, message: str) -> None:
        self.table.clear_selection()
        self.app.notify(safe(message), markup=False)
        refresh_screens(self.app)

    def _failed(self, what: str, exc: Exception) -> None:
        self.app.notify(f"{what} failed: {safe(str(exc))}", severity="error", markup=False)

    # -- fix --------------------------------------------------------------------------------
    def action_fix(self) -> None:
        keys = self.chosen()
        if not keys:
            self.app.notify("no finding selected", severity="warning", markup=False)
            return
        from workbench.screens.fix_wizard import FixWizardScreen

        self.app.push_screen(FixWizardScreen(finding_ids=[int(k) for k in keys]))

    # -- refresh ----------------------------------------------------------------------------
    def action_reload(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load_groups(select=self.group_value)
        self.table.reload()


def _check_title(check_id: str) -> str:
    from workbench.scan.loader import CheckError, get_check

    try:
        return get_check(check_id).title
    except CheckError:
        return ""
