"""``python -m pipeline estimators <verb>``: one verb per rule of workflow/rules/estimators.smk."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """No verbs yet."""
