"""Every fix, by id: the ``vmwb.fixes`` plugin group (see :mod:`workbench.plugins`), one instance per fix.

A check names its fixes in its metadata (``fix = "aws.snapshot.revoke_public"``), the one place the link is
declared: the catalogue loader refuses a name that is not registered, and :func:`for_check` and
``Fix.check_ids`` read it.
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


def for_check(check_id: str) -> list[Fix]:
    """The fixes that resolve findings of ``check_id``: those its ``check.toml`` names, in that order."""
    from workbench.scan.loader import CheckError, get_check

    try:
        names = get_check(check_id).fixes
    except CheckError:  # an unknown check has no fix
        return []
    return [get(name) for name in names]
