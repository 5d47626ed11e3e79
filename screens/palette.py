"""Command-palette sources (Ctrl+P): every view by name, and any resource by id, name or tag.

Resource names come from the clouds, so hits are built as ``Text`` (the palette parses ``str`` prompts and help
as markup); the help line holds only our own words.
"""

from __future__ import annotations

import asyncio
from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.cache import browse
from workbench.screens import views
from workbench.textsafe import safe


class ViewCommands(Provider):
    """Open any registered view."""

    def _views(self) -> list[views.View]:
        return [v for v in views.all_views().values() if v.available]

    async def discover(self) -> Hits:
        for view in self._views():
            yield DiscoveryHit(
                Text(f"Open {view.title}  :{view.name}"),
                partial(self._open, view.name),
                help=view.help,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for view in self._views():
            label = f"Open {view.title}  :{view.name}"
            score = max(matcher.match(label), *(matcher.match(a) for a in view.aliases), 0)
            if score > 0:
                yield Hit(score, Text(label), partial(self._open, view.name), help=view.help)

    def _open(self, name: str) -> None:
        self.app.jump_to_view(name)  # type: ignore[attr-defined]


class ResourceSearch(Provider):
    """Find a resource across kinds through the cache's FTS indexes; Enter opens its detail."""

    async def search(self, query: str) -> Hits:
        query = query.strip()
        if len(query) < 2:
            return
        services = self.app.services  # type: ignore[attr-defined]

        def lookup() -> list[browse.SearchHit]:
            with services.reader() as db:
                return browse.search(db, query, limit=30)

        try:
            hits = await asyncio.to_thread(lookup)
        except Exception:  # a missing or busy cache must not break the palette
            return
        for rank, hit in enumerate(hits):
            prompt = Text.assemble(
                (f"{hit.kind} ", "dim"),
                (safe(hit.id, 60), "bold"),
                "  ",
                safe(hit.name, 60),
                (f"  {safe(hit.account, 30)} {safe(hit.region, 20)}", "dim"),
            )
            score = 1.0 - rank / 100
            yield Hit(
                score,
                prompt,
                partial(self._open, hit.uid),
                text=safe(f"{hit.id} {hit.name}"),
                help="Open the resource",
            )

    def _open(self, uid: str) -> None:
        self.app.open_resource(uid)  # type: ignore[attr-defined]
