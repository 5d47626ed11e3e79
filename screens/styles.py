"""Stylesheets live as ``.tcss`` files in ``workbench.assets.styles``, read through importlib.resources.

``CSS_PATH`` wants real file paths, which a zipped install does not have; reading the text into ``CSS`` works
from any install. Read on first use, not at import.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def stylesheet(name: str) -> str:
    """The text of ``assets/styles/<name>.tcss``."""
    return files("workbench.assets.styles").joinpath(f"{name}.tcss").read_text(encoding="utf-8")
