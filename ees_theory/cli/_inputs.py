"""Reading a row of logits or probabilities from the command line (inline, ``.npy`` or ``.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..reference import ExactRow, as_row, from_probs


def parse_inline(text: str) -> list[str]:
    """Split ``"0.5, 0.3,0.2"`` (or space separated) into entries; hex floats and ``-inf`` allowed.

    >>> parse_inline("0.5,0.3, 0x1.8p-3 -inf")
    ['0.5', '0.3', '0x1.8p-3', '-inf']
    """
    return [t for t in text.replace(",", " ").split() if t]


def load_file(path: str) -> tuple[str, Any]:
    """Load a row from ``.npy`` (logits) or ``.json`` (a list of logits, or an object with a
    ``"logits"`` or ``"probs"`` key). Returns ``(kind, values)``."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if p.suffix == ".npy":
        return "logits", np.load(p, allow_pickle=False)
    if p.suffix == ".json":
        data = json.loads(p.read_text())
        if isinstance(data, list):
            return "logits", data
        if isinstance(data, dict):
            for kind in ("logits", "probs"):
                if kind in data:
                    return kind, data[kind]
        raise ValueError(f"{path}: expected a list or an object with a 'logits' or 'probs' key")
    raise ValueError(f"{path}: unsupported file type {p.suffix!r} (use .npy or .json)")


def add_row_arguments(parser) -> None:
    """The common input options: ``--logits``, ``--probs`` or ``--file``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--logits", metavar="LIST", help="comma- or space-separated logits (hex floats and -inf allowed)")
    src.add_argument("--probs", metavar="LIST", help="comma- or space-separated probabilities (must sum to 1)")
    src.add_argument("--file", metavar="PATH", help=".npy of logits, or .json: a list of logits or {\"logits\"|\"probs\": [...]}")


def row_from_args(args) -> ExactRow:
    """The validated exact row the options describe."""
    if args.logits is not None:
        return as_row(parse_inline(args.logits))
    if args.probs is not None:
        return from_probs(parse_inline(args.probs))
    kind, values = load_file(args.file)
    if isinstance(values, list):
        values = [str(v) if isinstance(v, str) else v for v in values]
    return from_probs(values) if kind == "probs" else as_row(values)
