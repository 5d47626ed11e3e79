"""Every fix, by id: the ``vmwb.fixes`` plugin group (see :mod:`workbench.plugins`), one instance per fix.

Checks name their fix in their metadata (``fix = "aws.snapshot.revoke_public"``); :func:`for_check` honours that
as well as the checks a fix declares.
"""

from __future__ import annotations

import functools

from workbench import plugins
from workbench.fixes.base import Fix, FixError


def fix_ids() -> frozenset[str]:
    return frozenset(plugins.names("fixes"))


@functools.cache
def get(fix_id: str) -> Fix:
    if fix_id not in fix_ids():
        raise FixError(f"no fix {fix_id!r} (see `vmwb fix list`)")
    fix = plugins.load_class("fixes", fix_id, Fix)()
    if fix.id != fix_id:  # a typo in an entry point must not run another fix
        raise FixError(
            f"fix registry error: {plugins.target('fixes', fix_id)} declares {fix.id!r}, not {fix_id!r}"
        )
    return fix


def all_fixes() -> list[Fix]:
    return [get(fix_id) for fix_id in sorted(fix_ids())]


def _check_metadata_fix(check_id: str) -> str | None:
    """The fix a check's own metadata names, when the check catalogue is available."""
    try:
        from workbench.scan.loader import get_check
    except ImportError:
        return None
    try:
        return getattr(get_check(check_id), "fix", None)
    except Exception:  # an unknown check, or a catalogue that does not load: no metadata link
        return None


def for_check(check_id: str) -> list[Fix]:
    """The fixes that resolve findings of ``check_id``: declared by the fix or named by the check."""
    found = [f for f in all_fixes() if check_id in f.check_ids]
    named = _check_metadata_fix(check_id)
    if named in fix_ids() and all(f.id != named for f in found):
        found.insert(0, get(named))
    return found
