"""The app shows the config's deprecation notes once, as the CLI does (the config itself was validated before
the app starts: a bad one never reaches it)."""

from __future__ import annotations

from pathlib import Path

from tui_estate import make_app, settle

from workbench.config import parse


async def test_deprecated_keys_are_shown_as_one_notification_each(cache_path: Path) -> None:
    config = parse({"fixes": {"allowed_accounts": ["111122223333"]}}, Path("vmwb.toml"))
    app = make_app(cache_path, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert messages.count(config.notes[0]) == 1
        assert "fixes.allowed_accounts is deprecated" in config.notes[0]
