"""The inventory's row source: SqlTableSource plus display formatting and the stale-scope mark.

Formatting happens per visible page (never per table): tri-state booleans read yes / no / blank, JSON lists
read as comma-separated values, and the first column shows ``!`` for rows whose scope's last sync failed, so
stale rows are marked without a join in the paging SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from workbench.cache import schema
from workbench.cache.table_source import Column, Row, SqlTableSource, TableState

MARK_COLUMN = "scope_id"


def _bool(value: Any) -> Any:
    return {1: "yes", 0: "no"}.get(value, "") if value is not None else ""


def _json_list(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(("[", "{")):
        return value
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if isinstance(data, list):
        return ", ".join(str(v) for v in data)
    if isinstance(data, dict):
        return ", ".join(f"{k}={v}" for k, v in data.items())
    return value


def formatters(kind: str) -> dict[str, Callable[[Any], Any]]:
    """Column name → display function, from the record class's field types."""
    import dataclasses
    import typing

    from workbench import model

    cls = model.RECORD_TYPES[kind]
    hints = typing.get_type_hints(cls)
    out: dict[str, Callable[[Any], Any]] = {"tags": _json_list, "extra": _json_list}
    for f in dataclasses.fields(cls):
        text = str(hints[f.name])
        if "bool" in text:
            out[f.name] = _bool
        elif "list" in text or "dict" in text:
            out[f.name] = _json_list
    if kind == "firewall_rule":
        out["world_open"] = _bool
    return out


class InventorySource(SqlTableSource):
    def __init__(self, db_path: Any, kind: str, columns: Iterable[Column], stale: set[str]) -> None:
        table = schema.TABLES[kind]
        mark = Column(MARK_COLUMN, "!", 1)
        super().__init__(
            db_path,
            table,
            [mark, *columns],
            key="row_id",
            fts_table=f"{table}_fts",
            search_columns=("search",),  # what the FTS index covers: a short filter scans it
        )
        self.kind = kind
        self.stale = stale
        fmt = formatters(kind)
        # Row index 0 is the key, 1 the mark; displayed columns follow.
        self._format = [(i + 2, fmt[c.name]) for i, c in enumerate(columns) if c.name in fmt]

    def page(self, offset: int, limit: int, state: TableState | None = None) -> list[Row]:
        rows = super().page(offset, limit, state)
        out = []
        for row in rows:
            cells = list(row)
            cells[1] = "!" if cells[1] in self.stale else ""
            for index, fn in self._format:
                cells[index] = fn(cells[index])
            out.append(tuple(cells))
        return out
