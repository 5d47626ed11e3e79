"""VM Security Workbench: the headless core (model, cache, providers, sync, checks, fixes, audit, CLI).

Nothing here imports Textual; the terminal UI lives in ``workbench.screens``.
"""

__version__ = "0.1.0"
