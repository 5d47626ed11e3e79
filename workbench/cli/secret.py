"""``vmwb secret set|delete|check NAME``: store a credential in the OS keyring from a script or a headless shell.

The value is read from the terminal without echo (or from stdin when it is not a terminal), never from the
command line, where it would land in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "secret",
        help="store, check or delete a credential in the OS keyring",
        description="Names used by vmwb: vsphere:<host>, azure:<tenant>:<client>, gcp:<name>.",
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("set", "store a secret (read without echo, or from stdin)"),
        ("check", "say whether a secret is stored (never prints it)"),
        ("delete", "remove a secret"),
    ):
        s = sub.add_parser(action, help=text)
        s.add_argument("name")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench import secrets

    if args.action == "set":
        if sys.stdin.isatty():
            value = getpass.getpass(f"secret for {args.name}: ")
        else:
            value = sys.stdin.readline().rstrip("\n")
        if not value:
            print("vmwb: error: empty secret, nothing stored", file=sys.stderr)
            return 2
        secrets.set_secret(args.name, value)
        print(f"stored {args.name} in the {secrets.backend_name()} keyring")
        return 0
    if args.action == "check":
        stored = secrets.get_secret(args.name) is not None
        print(f"{args.name}: {'stored' if stored else 'not stored'}")
        return 0 if stored else 1
    if secrets.delete_secret(args.name):
        print(f"deleted {args.name}")
        return 0
    print(f"{args.name}: not stored")
    return 1
