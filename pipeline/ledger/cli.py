"""``python -m pipeline ledger <verb>``: one verb per rule of workflow/rules/ledger.smk."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """No verbs yet."""
