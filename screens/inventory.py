"""Inventory: one kind of resource (instances, volumes, snapshots …) in a virtualised table over the cache.

``/`` filters as you type: words search ids, names and tags (FTS trigram, from 3 characters) and ``key=value``
terms filter columns or tags, the same grammar as the command line (``:snap account=2222 env=prod``).
``s`` sorts by any column, ``c`` chooses columns, Enter opens the detail. Rows whose scope failed its last sync
are marked ``!`` in the first column: they are what the cache knew before.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from workbench.cache import browse, schema
from workbench.cache.table_source import Column
from workbench.screens.base import WorkbenchScreen
from workbench.screens.inventory_source import MARK_COLUMN, InventorySource
from workbench.screens.picker import PickerScreen
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

_SCOPE = [("provider", "Cloud", 5), ("account", "Account", 12), ("region", "Region", 10)]
DEFAULT_COLUMNS: dict[str, list[tuple[str, str, int]]] = {
    "instance": [
        ("id", "ID", 19),
        ("name", "Name", 18),
        ("state", "State", 8),
        ("instance_type", "Type", 9),
        ("public_ip", "Public IP", 15),
        ("imds_tokens", "IMDS", 8),
        *_SCOPE,
    ],
    "volume": [
        ("id", "ID", 22),
        ("name", "Name", 20),
        ("state", "State", 9),
        ("size_gb", "GB", 6),
        ("volume_type", "Type", 7),
        ("encrypted", "Enc", 4),
        ("attached_to", "Attached to", 20),
        *_SCOPE,
    ],
    "snapshot": [
        ("id", "ID", 22),
        ("name", "Name", 18),
        ("state", "State", 9),
        ("size_gb", "GB", 5),
        ("encrypted", "Enc", 4),
        ("public", "Public", 6),
        ("source_volume_id", "Volume", 21),
        *_SCOPE,
    ],
    "image": [
        ("id", "ID", 21),
        ("name", "Name", 24),
        ("state", "State", 9),
        ("public", "Public", 6),
        ("owner", "Owner", 13),
        ("platform", "OS", 7),
        ("deprecated_at", "Deprecated", 20),
        *_SCOPE,
    ],
    "firewall_rule": [
        ("group_id", "Group", 20),
        ("direction", "Dir", 7),
        ("action", "Act", 5),
        ("protocol", "Proto", 5),
        ("port_from", "From", 5),
        ("port_to", "To", 5),
        ("source", "Source", 18),
        ("world_open", "World", 5),
        ("description", "Description", 20),
        *_SCOPE,
    ],
    "firewall_group": [
        ("id", "ID", 20),
        ("name", "Name", 24),
        ("network_id", "Network", 21),
        ("is_default", "Default", 7),
        ("description", "Description", 24),
        *_SCOPE,
    ],
    "grant": [
        ("resource_kind", "On", 8),
        ("resource_id", "Resource", 22),
        ("grantee_kind", "Grantee kind", 12),
        ("grantee", "Grantee", 16),
        ("permission", "Permission", 22),
        *_SCOPE,
    ],
    "network": [
        ("id", "ID", 21),
        ("name", "Name", 24),
        ("cidr", "CIDR", 18),
        ("is_default", "Default", 7),
        ("flow_logs", "Flow logs", 9),
        *_SCOPE,
    ],
    "host": [
        ("id", "ID", 24),
        ("name", "Name", 24),
        ("version", "Version", 14),
        ("ssh_enabled", "SSH", 4),
        ("lockdown_mode", "Lockdown", 10),
        *_SCOPE,
    ],
}
_NUMERIC = {"size_gb", "port_from", "port_to", "priority", "installed_count", "missing_count"}


def _column(name: str, label: str, width: int) -> Column:
    # Ids and accounts share their start (``snap-0``, ``/subscriptions/``): cut them in the middle.
    middle = name in ("id", "uid", "account") or name.endswith("_id")
    return Column(
        name,
        label,
        width,
        "right" if name in _NUMERIC else "left",
        "middle" if middle else "end",
    )


def all_columns(kind: str) -> list[Column]:
    """Every column the chooser offers, default ones first with their labels and widths."""
    chosen = {
        name: _column(name, label, width) for name, label, width in DEFAULT_COLUMNS.get(kind, [])
    }
    skip = browse.HIDDEN_COLUMNS | {MARK_COLUMN, "task"}
    rest = [
        _column(name, name.replace("_", " ").capitalize(), 14)
        for name in schema.resource_columns(kind)
        if name not in chosen and name not in skip
    ]
    return [*chosen.values(), *rest]


class InventoryScreen(WorkbenchScreen):
    STYLE = "inventory"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Back"),
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("c", "columns", "Columns"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, kind: str = "instance", args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        if kind not in schema.TABLES:
            raise ValueError(f"no inventory of {kind!r}")
        self.kind = kind
        self.base_filter = browse.parse_filter(kind, args)  # raises ValueError for the app to show
        self.typed = browse.ViewFilter()
        defaults = {name for name, _, _ in DEFAULT_COLUMNS.get(kind, [])} or {"id", "name"}
        self.columns = [c for c in all_columns(kind) if c.name in defaults]

    @property
    def title_text(self) -> str:
        from workbench.screens.views import all_views

        titles = {v.kwargs.get("kind"): v.title for v in all_views().values()}
        return str(titles.get(self.kind, self.kind))

    def compose_body(self) -> ComposeResult:
        yield Input(
            placeholder="filter: words, key=value, tag.key=value (Enter keeps, Esc clears)",
            id="filter",
        )
        yield Static("", id="filter-line", markup=False)
        yield self._make_table()

    def _make_table(self) -> VirtualTable:
        source = InventorySource(
            self.app.services.cache_path, self.kind, self.columns, self._stale()
        )  # type: ignore[attr-defined]
        table = VirtualTable(source, id="table")
        table.border_title = Text(self.title_text)
        return table

    def _stale(self) -> set[str]:
        try:
            with self.reader() as db:
                return browse.scope_summary(db).stale_scopes
        except Exception:
            return set()

    def on_mount(self) -> None:
        self._apply_filters()
        self.query_one(VirtualTable).focus()

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    # -- filtering ------------------------------------------------------------------------
    def _apply_filters(self) -> None:
        base, typed = self.base_filter, self.typed
        merged = browse.ViewFilter(
            " ".join(t for t in (base.text, typed.text) if t),
            base.columns + typed.columns,
            base.tags + typed.tags,
        )
        where, params = merged.sql()
        table = self.table
        table.set_where(where or None, params)
        table.set_filter(merged.text)
        line = self.query_one("#filter-line", Static)
        line.update(Text("filter: " + safe(merged.describe())) if merged.describe() else "")
        line.display = bool(merged.describe())

    def on_input_changed(self, event: Input.Changed) -> None:
        try:
            self.typed = browse.parse_filter(self.kind, event.value)
        except ValueError:
            return  # an unfinished quote: keep the last good filter while typing
        self._apply_filters()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or box.value:
            box.value = ""
            box.display = False
            self.typed = browse.ViewFilter()
            self._apply_filters()
            self.table.focus()
        else:
            self.app.action_back()  # type: ignore[attr-defined]

    # -- sorting and columns --------------------------------------------------------------
    def action_sort(self) -> None:
        options = [(c.label, c.name) for c in self.columns]
        self.app.push_screen(PickerScreen("Sort by", options), self._sort_by)

    def _sort_by(self, column: str | None) -> None:
        if column:
            self.table.set_sort(column)

    def action_reverse(self) -> None:
        state = self.table.source.state
        self.table.set_sort(state.sort, not state.descending)

    def action_columns(self) -> None:
        options = [(f"{c.label}  ({c.name})", c.name) for c in all_columns(self.kind)]
        chosen = [c.name for c in self.columns]
        self.app.push_screen(
            PickerScreen("Columns", options, multi=True, selected=chosen), self._set_columns
        )

    async def _set_columns(self, names: list[str] | None) -> None:
        if not names:
            return
        self.columns = [c for c in all_columns(self.kind) if c.name in names]
        old = self.table
        state = old.source.state
        new = self._make_table()
        await old.remove()  # first: the new table takes the same id
        await self.mount(new)
        sort = state.sort if state.sort in names else "row_id"
        new.set_sort(sort, state.descending)
        self._apply_filters()
        new.focus()

    # -- opening and refreshing -----------------------------------------------------------
    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        with self.reader() as db:
            uid = browse.uid_for_row(db, self.kind, int(event.key))
        if uid is not None:
            self.app.open_resource(uid)  # type: ignore[attr-defined]

    def action_reload(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        table = self.table
        assert isinstance(table.source, InventorySource)
        table.source.stale = self._stale()
        table.reload()
