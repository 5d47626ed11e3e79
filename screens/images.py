"""Image factory: every cached image with its approval, signature, age, publisher, scan and hardening state,
and its lineage (the VMs launched from it, in every account).

Keys: ``a`` approves the image under the cursor, ``x`` revokes its approval, ``v`` verifies the whole registry,
Enter opens the image's detail.
Approve and revoke ask for a reason (it is signed into the entry); all three are written to the audit log.
They are refused in read-only mode and for the viewer role. The signature column is worked out in Python
(SQL cannot check Ed25519) once per reload, from the registry and the session's trust root.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from workbench.cache import posture
from workbench.cache.table_source import Column, Row, SqlTableSource, TableState
from workbench.errors import WorkbenchError
from workbench.images import overview, verify
from workbench.screens.base import WorkbenchScreen
from workbench.screens.styles import stylesheet
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

COLUMNS = [
    Column("image_id", "Image", 21, cut="middle"),
    Column("name", "Name", 16),
    Column("provider", "Cloud", 5),
    Column("account", "Account", 12, cut="middle"),
    Column("approval", "Approval", 10),
    Column("approval_entry", "Signature", 13),
    Column("age_days", "Age d", 5, "right"),
    Column("publisher", "Publisher", 13),
    Column("critical_open", "Crit", 4, "right"),
    Column("hardening_score", "Harden", 6, "right"),
    Column("instances", "VMs", 4, "right"),
]
_SIGNATURE = 1 + [c.name for c in COLUMNS].index("approval_entry")
_SCORE = 1 + [c.name for c in COLUMNS].index("hardening_score")


class ImageSource(SqlTableSource):
    """The ``image_overview`` view, with the approval entry id shown as its signature state."""

    def __init__(self, db_path: Any) -> None:
        super().__init__(db_path, "image_overview", COLUMNS, key="row_id", fts_table="images_fts")
        self.states: dict[int, verify.EntryStatus] = {}

    def page(self, offset: int, limit: int, state: TableState | None = None) -> list[Row]:
        out = []
        for row in super().page(offset, limit, state):
            cells = list(row)
            cells[_SIGNATURE] = overview.signature_label(cells[_SIGNATURE], self.states)
            score = cells[_SCORE]
            cells[_SCORE] = "" if score is None else f"{score:.0f}%"
            out.append(tuple(cells))
        return out


class ReasonPrompt(ModalScreen[str | None]):
    """Asks why; dismisses with the reason (never empty) or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.CSS = stylesheet("images")  # type: ignore[misc]
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Label(Text(self.question), id="reason-question")
            yield Input(placeholder="reason (signed into the entry and audited)", id="reason-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ImagesScreen(WorkbenchScreen):
    STYLE = "images"
    VIEW_TITLE = "Image factory"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("x", "revoke", "Revoke"),
        Binding("v", "verify", "Verify"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="images-body"):
            table = VirtualTable(ImageSource(self.app.services.cache_path), id="images-table")  # type: ignore[attr-defined]
            table.border_title = Text("Images")
            yield table
            yield Static("", id="lineage", markup=False)

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    def on_mount(self) -> None:
        self._load_states()
        self.table.focus()

    def _config(self) -> Any:
        return self.app.services.config  # type: ignore[attr-defined]

    def _trust(self) -> Any:
        from workbench.images import keys

        return keys.trust_root(self._config())

    def _load_states(self) -> verify.Verification | None:
        try:
            with self.reader() as db:
                result = verify.verify(db, self._trust())
        except WorkbenchError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return None
        source = self.table.source
        assert isinstance(source, ImageSource)
        source.states = result.by_id()
        return result

    def refresh_data(self) -> None:
        self._load_states()
        self.table.reload()

    def action_reload(self) -> None:
        self.refresh_data()

    # -- the image under the cursor and its lineage ------------------------------------------
    def _current(self) -> dict[str, Any] | None:
        key = self.table.cursor_key
        if key is None:
            return None
        with self.reader() as db:
            return posture.image_overview_row(db, int(key))

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self._show_lineage()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        image = self._current()
        if image is not None:
            self.app.open_resource(image["uid"])  # type: ignore[attr-defined]

    def on_virtual_table_count_changed(self, event: VirtualTable.CountChanged) -> None:
        self._show_lineage()

    def _show_lineage(self) -> None:
        image = self._current()
        panel = self.query_one("#lineage", Static)
        if image is None:
            panel.update(Text("no image selected"))
            return
        with self.reader() as db:
            vms = overview.lineage(db, image["provider"], image["image_id"])
            vulns = posture.open_vulnerabilities(db, image["uid"])
        source = self.table.source
        states = source.states if isinstance(source, ImageSource) else {}
        status = states.get(image["approval_entry"]) if image["approval_entry"] else None
        text = Text()
        text.append(safe(f"{image['image_id']}  {image['name'] or ''}") + "\n", style="bold")
        text.append(safe(f"approval: {image['approval']}") + "\n")
        if status is not None:
            text.append(safe(f"signature: {status.status}: {status.message}") + "\n")
        text.append(safe(f"publisher: {image['publisher'] or 'unknown'}") + "\n")
        open_vulns = ", ".join(f"{n} {sev}" for sev, n in vulns) or "none imported"
        text.append(safe(f"open vulnerabilities: {open_vulns}") + "\n")
        score = image["hardening_score"]
        harden = (
            "no result" if score is None else f"{score:.1f}% ({image['hardening_failed']} failed)"
        )
        text.append(safe(f"hardening: {harden}") + "\n\n")
        text.append(f"lineage: {len(vms)} VM(s)\n", style="bold")
        for vm in vms[:200]:
            text.append(
                safe(
                    f"{vm['account']} {vm['region']} {vm['id']} {vm['name'] or ''} [{vm['state']}]"
                )
                + "\n"
            )
        panel.update(text)

    # -- approve / revoke / verify -------------------------------------------------------------
    def _signer(self) -> Any:
        """The signing key, or None (with a message) when this session may not or cannot sign: checked
        before asking for a reason, so nobody types one for nothing."""
        from workbench.images import keys, registry

        services = self.app.services  # type: ignore[attr-defined]
        try:
            registry.require_writer(services.role, bool(self.app.read_only))  # type: ignore[attr-defined]
            return keys.ensure_signer(keys.key_name(services.config))
        except WorkbenchError as exc:
            self.notify(safe(str(exc)), severity="warning", markup=False)
            return None

    def action_approve(self) -> None:
        image = self._current()
        signer = self._signer() if image is not None else None
        if image is None or signer is None:
            return
        question = safe(f"Approve {image['image_id']} ({image['provider']} {image['account']})?")
        self.app.push_screen(
            ReasonPrompt(question), lambda why: self._write("approve", image, why, signer)
        )

    def action_revoke(self) -> None:
        image = self._current()
        if image is None:
            return
        if image["approval"] != "approved":
            self.notify("this image has no approval in force", severity="warning", markup=False)
            return
        signer = self._signer()
        if signer is None:
            return
        question = safe(f"Revoke the approval of {image['image_id']}?")
        self.app.push_screen(
            ReasonPrompt(question), lambda why: self._write("revoke", image, why, signer)
        )

    def _write(self, action: str, image: dict[str, Any], reason: str | None, signer: Any) -> None:
        if not reason:
            return
        from workbench.cache.store import Cache
        from workbench.images import registry

        services = self.app.services  # type: ignore[attr-defined]
        try:
            with Cache.open(services.cache_path, create=False) as cache:
                kw = {"actor": _user(services.config), "role": services.role}
                if action == "approve":
                    entry = registry.approve(cache, image["uid"], reason, signer, **kw)
                else:
                    entry = registry.revoke(
                        cache, str(image["approval_entry"]), reason, signer, **kw
                    )
        except WorkbenchError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return
        self.notify(safe(f"{action}d {image['image_id']} (entry {entry.entry_id})"), markup=False)
        self.refresh_data()

    def action_verify(self) -> None:
        from workbench import audit
        from workbench.cache.store import Cache

        result = self._load_states()
        if result is None:
            return
        services = self.app.services  # type: ignore[attr-defined]
        try:
            with Cache.open(services.cache_path, create=False) as cache:
                audit.append(
                    cache,
                    _user(services.config),
                    services.role,
                    "verify",
                    "image-registry",
                    verify.summary(result),
                    "ok" if result.intact else "problems",
                )
        except WorkbenchError as exc:  # a read-only file system still shows the verdict
            self.notify(safe(str(exc)), severity="warning", markup=False)
        counts = result.counts()
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        if result.intact:
            self.notify(f"registry verifies: {summary or 'no entries'}", markup=False)
        else:
            first = next((s.message for s in result.statuses if s.status in verify.BAD), None)
            detail = first or (result.problems[0] if result.problems else "")
            self.notify(
                safe(f"registry does NOT verify ({summary}): {detail}"),
                severity="error",
                markup=False,
                timeout=10,
            )
        self.table.reload()
        self._show_lineage()


def _user(config: Any) -> str:
    import getpass

    return str(getattr(config, "user", None) or getpass.getuser())
