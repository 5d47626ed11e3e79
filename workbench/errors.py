"""Errors the CLI and the app show to the operator as one clear line, never as a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class WorkbenchError(Exception):
    """Base class: the message is meant for the operator."""


class CacheError(WorkbenchError):
    """The cache file is missing, damaged, not ours, or from a newer vmwb."""


class ConfigError(WorkbenchError):
    """The config file cannot be read or does not validate."""


class ProviderError(WorkbenchError):
    """A provider cannot be used (SDK or extra missing, bad endpoint, no credentials)."""


class PermissionDenied(WorkbenchError):
    """The role or read-only mode forbids this action."""


class BadAnswer(ProviderError):
    """An API answered with something that is not its answer: an HTML page, a cut or unparsable body, a
    response without the result it must carry. The task fails and the cache keeps what it knew."""


def operator_line(exc: BaseException) -> tuple[str, int]:
    """The one line and exit status an operator is given for an error (the CLI's and the app's alike):
    a known error is 2, anything else is a bug, 70, and asks to be reported. Never a traceback."""
    if isinstance(exc, WorkbenchError):
        return f"vmwb: error: {exc}", 2
    return f"vmwb: unexpected error: {type(exc).__name__}: {exc} (please report it)", 70


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, else `` (known: a, b)``: for any typo message."""
    import difflib

    names = sorted(known)
    folded = {n.lower(): n for n in names}
    close = [folded[word.lower()]] if word.lower() in folded else []
    close = close or difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(names)})" if names else ""
