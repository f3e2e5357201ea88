"""``python -m pipeline <domain> <verb> [options]``: the one entry point the workflow calls.

Each domain owns ``pipeline/<domain>/cli.py`` with a ``register(subparsers)`` function; only the
domain named on the command line is imported, so ``text`` verbs never pay for importing torch.
"""

import importlib
import sys

from pipeline.cli import run_main

DOMAINS = (
    "text",
    "vectors",
    "em",
    "images",
    "estimators",
    "energy",
    "dynamics",
    "transport",
    "ledger",
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in DOMAINS:
        print(
            f"usage: python -m pipeline {{{','.join(DOMAINS)}}} <verb> [options]", file=sys.stderr
        )
        if argv and argv[0] not in ("-h", "--help"):
            print(f"error: unknown domain {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(f"pipeline.{argv[0]}.cli")
    return run_main(module.register, argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
