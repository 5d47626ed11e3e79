"""Detail: every field of one resource, its tags, related resources both ways, its findings, the raw JSON.

Related resources come from ``relations`` (instance → volumes → snapshots, image ← instances launched from it)
plus the joins that are not edges (the firewall rules of the groups protecting an instance, grants on a
snapshot); Enter on one opens its own detail, Esc comes back. Every value is cloud data and goes through
``safe()`` into ``Text``; the raw JSON is sanitised line by line, so an escape sequence inside a tag value shows
as ``␛`` instead of reaching the terminal.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from workbench.cache import browse
from workbench.screens.base import WorkbenchScreen
from workbench.textsafe import safe, safe_text

NARROW = 110  # below this many columns the panes stack
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def field_table(pairs: list[tuple[str, Any]], *, key_style: str = "bold") -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style=key_style, no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in pairs:
        shown = "" if value is None else value
        # Fold long values (a 5,000-character name) instead of widening the pane.
        grid.add_row(safe_text(key), Text(safe(shown)))
    return grid


def raw_json_text(raw: Any) -> Text:
    if raw is None:
        return Text("(no raw response stored)", style="dim")
    dumped = json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return Text("\n".join(safe(line) for line in dumped.splitlines()))


class DetailScreen(WorkbenchScreen):
    STYLE = "detail"
    VIEW_TITLE = "Detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "raw", "Raw JSON"),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, uid: str, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.uid = uid or args
        self.neighbours: list[browse.Neighbour] = []

    @property
    def title_text(self) -> str:
        kind = browse.kind_of_uid(self.uid) or "resource"
        return f"Detail: {kind}"

    def compose_body(self) -> ComposeResult:
        yield Static(id="detail-heading", markup=False)
        with Horizontal(id="detail-panes"):
            with VerticalScroll(id="fields-pane"):
                yield Static(id="fields", markup=False)
                yield Label("Tags", classes="section", markup=False)
                yield Static(id="tags", markup=False)
            with VerticalScroll(id="raw-pane"):
                yield Static(id="raw", markup=False)
            with Vertical(id="side-pane"):
                yield Label("Related (Enter follows)", classes="section", markup=False)
                yield OptionList(id="related")
                yield Label("Findings", classes="section", markup=False)
                yield VerticalScroll(Static(id="findings", markup=False), id="findings-pane")

    def on_mount(self) -> None:
        self.query_one("#raw-pane").display = False
        self.refresh_data()
        self.query_one("#related", OptionList).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    def refresh_data(self) -> None:
        with self.reader() as db:
            res = browse.resource(db, self.uid)
            if res is None:
                self.query_one("#detail-heading", Static).update(
                    Text(
                        f"{safe(self.uid)} is not in the cache (removed by a later sync?)",
                        style="bold",
                    )
                )
                return
            # One row per (relation, resource): an edge recorded both ways, or by two joins, is one row.
            seen: set[tuple[str, str]] = set()
            self.neighbours = []
            for n in browse.related(db, res):
                if (n.relation, n.uid) not in seen:
                    seen.add((n.relation, n.uid))
                    self.neighbours.append(n)
            found = browse.findings(db, self.uid)
        row = res.row
        heading = Text.assemble(
            (f"{res.kind} ", "dim"),
            (safe(row["id"], 80), "bold"),
            "  ",
            safe(row.get("name") or "", 80),
            (f"   {safe(row['provider'])} · {safe(row['account'])} · {safe(row['region'])}", "dim"),
        )
        self.query_one("#detail-heading", Static).update(heading)
        self.query_one("#fields", Static).update(field_table(res.fields()))
        tags = sorted(res.tags.items())
        self.query_one("#tags", Static).update(
            field_table(tags) if tags else Text("(none)", style="dim")
        )
        self.query_one("#raw", Static).update(raw_json_text(res.raw))
        self._show_related()
        self._show_findings(found)

    def _show_related(self) -> None:
        related = self.query_one("#related", OptionList)
        related.clear_options()
        if not self.neighbours:
            related.add_option(
                Option(Text("(nothing related in the cache)", style="dim"), disabled=True)
            )
            return
        for i, n in enumerate(self.neighbours):
            prompt = Text.assemble(
                (f"{n.relation:<16.16} ", "bold"),
                (f"{n.kind:<14.14} ", "dim"),
                safe(n.id, 40),
                "  ",
                safe(n.name, 40),
                (" (not in cache)", "italic dim") if not n.present else "",
                no_wrap=True,
                overflow="ellipsis",
            )
            related.add_option(Option(prompt, id=str(i), disabled=not n.present))
        # Enter follows at once: the first resource that can be opened is highlighted, not nothing.
        first = next((i for i, n in enumerate(self.neighbours) if n.present), None)
        if first is not None:
            related.highlighted = first

    def _show_findings(self, rows: list[Any]) -> None:
        target = self.query_one("#findings", Static)
        if not rows:
            target.update(Text("(no findings)", style="dim"))
            return
        text = Text()
        for severity, check_id, status, reason, _last_seen in rows:
            style = _SEVERITY_STYLE.get(str(severity), "") if status == "open" else "dim"
            text.append(f"{safe(severity):<8} ", style=style)
            text.append(f"{safe(check_id)} ", style="bold")
            text.append(f"[{safe(status)}] ", style="dim")
            text.append(safe(reason) + "\n")
        target.update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or -1)
        if 0 <= index < len(self.neighbours):
            self.app.open_resource(self.neighbours[index].uid)  # type: ignore[attr-defined]

    def action_raw(self) -> None:
        raw = self.query_one("#raw-pane")
        raw.display = not raw.display
        self.query_one("#fields-pane").display = not raw.display

    def action_reload(self) -> None:
        self.refresh_data()
