"""Shared command-line plumbing: argument parsing, logging, config sections, error exits.

A verb is registered by a domain's ``cli.register(subparsers)`` as a sub-parser whose
``func`` default takes the parsed ``argparse.Namespace``. Every verb receives its config
section as ONE JSON string (``--config``), exactly what the Snakemake rule puts in ``params``,
and turns it into the frozen dataclass owned by the module that uses it (:func:`load_section`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import sys
import typing
from collections.abc import Callable
from typing import Any

log = logging.getLogger("pipeline")

#: Exit status for bad input (missing/corrupt file, bad config, empty corpus, NaN in training).
EXIT_BAD_INPUT = 2


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default="{}",
        help="the rule's config section as one JSON object (as in the rule's params)",
    )


def load_section(cls: type, text: str, name: str = "config") -> Any:
    """Build the frozen dataclass ``cls`` from a JSON object, naming any bad key.

    Unknown keys are rejected (the schema already rejects them in the workflow; this guards
    direct CLI use). Missing keys take the dataclass defaults.
    """
    try:
        raw = json.loads(text) if isinstance(text, str) else dict(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{name}: expected a JSON object, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(
            f"{name}: unknown key(s) {', '.join(unknown)}; expected some of {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in raw.items():
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = load_section(sub, json.dumps(value), f"{name}.{key}")
        kwargs[key] = value
    return cls(**kwargs)


def resolve(ref: str) -> Any:
    """The object ``"package.module:name"`` names, imported when a verb runs: a domain's parser
    stays light, so a figure job does not import torch, POT or scikit-learn it never uses."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def run_main(
    register: Callable[[argparse._SubParsersAction], None], domain: str, argv: list[str]
) -> int:
    """Parse ``argv`` for one domain, run the verb, and turn bad input into exit status 2."""
    parser = argparse.ArgumentParser(prog=f"python -m pipeline {domain}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="<verb>")
    register(subparsers)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        args.func(args)
    except (ValueError, OSError, EOFError) as exc:
        # Bad input: a clear one-line error naming the file or key, and no traceback noise.
        log.error("%s: %s", type(exc).__name__, exc)
        log.debug("traceback", exc_info=True)
        return EXIT_BAD_INPUT
    return 0
