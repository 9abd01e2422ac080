"""Reading a row of logits or probabilities from the command line (inline, ``.npy`` or ``.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..reference import ExactRow, as_row, from_probs
from ..spec.inputs import check_input_file


def parse_inline(text: str) -> list[str]:
    """Split ``"0.5, 0.3,0.2"`` (or space separated) into entries; hex floats and ``-inf`` allowed.

    >>> parse_inline("0.5,0.3, 0x1.8p-3 -inf")
    ['0.5', '0.3', '0x1.8p-3', '-inf']
    """
    return [t for t in text.replace(",", " ").split() if t]


#: the largest input file read (bytes): a row of 2**24 float64 logits, as .npy or as JSON text
MAX_FILE_BYTES = 1 << 29


def _load_npy(p: Path) -> np.ndarray:
    # the header is read and checked against the file's size before any data is allocated,
    # so a header that claims a huge shape is refused, not obeyed
    size = p.stat().st_size
    with open(p, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise ValueError(f"{p}: not a valid .npy file ({exc})") from None
        if dtype.hasobject:
            raise ValueError(f"{p}: holds Python objects, not numbers")
        claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if claimed > size - fh.tell():
            raise ValueError(f"{p}: its header claims shape {shape} of {dtype} ({claimed} bytes), but the file holds only {size - fh.tell()} bytes of data")
    return np.load(p, allow_pickle=False)


def load_file(path: str) -> tuple[str, Any]:
    """Load a row from ``.npy`` (logits) or ``.json`` (a list of logits, or an object with a
    ``"logits"`` or ``"probs"`` key). Returns ``(kind, values)``.

    >>> load_file(".")
    Traceback (most recent call last):
    ...
    ValueError: . is a directory, not a .npy or .json file
    """
    p = check_input_file(path, "a .npy or .json file")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not one row")
    if p.suffix == ".npy":
        return "logits", _load_npy(p)
    if p.suffix == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except RecursionError:
            raise ValueError(f"{path}: JSON nested too deeply (a row is a flat list)") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
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


def options_from_args(args):
    """The :class:`~ees_theory.judging.methods.Options` that parsed ``check`` arguments give: each
    field from its flag in :data:`~ees_theory.judging.methods.OPTION_FLAGS` (``--unsupported`` checked
    against ``--method``'s parameters)."""
    from ..running.capabilities import check_unsupported
    from ..judging.methods import OPTION_FLAGS, Options

    values = {name: getattr(args, name) for name, _ in OPTION_FLAGS}
    values["unsupported"] = check_unsupported(args.method, values["unsupported"] or None)
    return Options(**values)
