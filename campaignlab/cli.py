"""The ``campaignlab`` command: one parser, each sub-command's package imported when it runs.

Exit codes, for every command: 0 done (for ``optimize``: a plan was written, OPTIMAL,
FEASIBLE or TIME_LIMIT with a plan); 1 no plan (INFEASIBLE, or the solver stopped without
one; summary.json says why); 2 bad input (one line naming the file, row, column or key;
nothing written); 3 the verifier rejected a plan (a bug: please report it with the summary).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .commands import COMMANDS

__all__ = ["build_parser", "main"]

EXIT_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campaignlab", description="Marketing resource allocation for retention teams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description or command.help)
        command.arguments(p)
        p.set_defaults(handler=command.handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, function = args.handler.split(":")
    handler = getattr(importlib.import_module(module), function)
    from optimizer.errors import InputError

    try:
        return int(handler(args))
    except InputError as exc:
        print(f"campaignlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
