"""Times as the cache keeps them: ISO 8601 UTC to the second with a ``Z`` (``2026-12-02T09:05:00Z``).

Every platform writes times its own way (botocore datetimes, ARM's seven fractional digits, RFC 3339 with
any offset, Trivy's nanoseconds, libvirt's epoch seconds); they all come through here, so two copies can never
disagree about an instant.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> str:
    return time.strftime(_FORMAT, time.gmtime())


def parse(value: Any) -> datetime | None:
    """A datetime (naive means UTC) or an RFC 3339 / ISO 8601 text as an aware datetime; None if neither."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if (
        dot
    ):  # the cache keeps whole seconds; fromisoformat (3.11) takes at most six fractional digits
        zone = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        text = head + rest[zone:]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def iso(value: Any, *, strict: bool = False) -> str | None:
    """``value`` as the cache's UTC text. Unparsable text is kept as sent (``strict``: None), never guessed."""
    if value is None or value == "":
        return None
    when = parse(value)
    if when is None:
        return None if strict else str(value)
    return when.astimezone(UTC).strftime(_FORMAT)


def iso_epoch(value: str | int | None) -> str | None:
    """Epoch seconds (libvirt's creation times) as the cache's UTC text."""
    try:
        seconds = int(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime(_FORMAT)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, now: str | None = None) -> str | None:
    """An operator's time (``--at``, ``--since``, ``:at``) as the cache's UTC text, None if it is none.

    ISO 8601 (``2026-11-30``, ``2026-11-30T09:00Z``), an age (``30m``, ``12h``, ``3d``, ``2w`` ago), ``today``,
    ``yesterday`` or a weekday (``monday``: its 00:00 UTC this week, today's if today is one).
    """
    from datetime import timedelta

    word = text.strip().lower()
    base = parse(now or utcnow())
    assert base is not None
    midnight = base.replace(hour=0, minute=0, second=0, microsecond=0)
    if word in ("today", "yesterday"):
        return iso(midnight - timedelta(days=word == "yesterday"))
    day = next(
        (i for i, name in enumerate(_WEEKDAYS) if len(word) >= 3 and name.startswith(word)), None
    )
    if day is not None:
        return iso(midnight - timedelta(days=(midnight.weekday() - day) % 7))
    if word[:-1].isdigit() and word[-1:] in _UNITS:
        return iso(base - timedelta(seconds=int(word[:-1]) * _UNITS[word[-1]]))
    return iso(text, strict=True)
