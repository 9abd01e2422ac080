"""Every judging option has one ``ees-theory check`` flag, and a repro line read back by the real
command-line parser gives the options it was written from."""

from __future__ import annotations

import dataclasses
import json
import shlex

import numpy as np
import pytest

from ees_theory.cli import build_parser
from ees_theory.cli._inputs import options_from_args
from ees_theory.running.cases import Case
from ees_theory.judging.methods import OPTION_FLAGS, Options
from ees_theory.running.runner import repro_line

#: a value other than the default for every field (a new field must be added here and to the table)
EVERY_FIELD_CHANGED = Options(accumulate="float32", rule="last", strict_ties=True, policy="llama.cpp", strict=True,
                              bands="rigorous", unsupported=("min_tokens_to_keep",))

CASES = [
    ("top-k", Options()),
    ("top-k", EVERY_FIELD_CHANGED),
    ("top-p", Options(policy="transformers", unsupported=("min_tokens_to_keep",))),
    ("ees", Options(rule="first-inclusive", accumulate="float32")),
    ("ees", Options(strict=True)),
    ("min-p", Options(bands="rigorous", strict_ties=True)),
]


def test_every_options_field_has_one_flag():
    names = [name for name, _ in OPTION_FLAGS]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Options))
    assert len(set(names)) == len(names) and len({flag for _, flag in OPTION_FLAGS}) == len(OPTION_FLAGS)
    changed = [f.name for f in dataclasses.fields(Options) if getattr(EVERY_FIELD_CHANGED, f.name) == getattr(Options(), f.name)]
    assert changed == [], f"EVERY_FIELD_CHANGED leaves {changed} at the default"


def test_the_parsers_defaults_are_the_options_defaults():
    args = build_parser().parse_args(["check", "builtin", "--method", "top-k"])
    assert options_from_args(args) == Options()


@pytest.mark.parametrize("method,options", CASES)
def test_a_repro_line_parsed_back_gives_the_same_options_and_case(method, options):
    logits = np.array([1.5, -0.25, 0.0, -np.inf])
    params = {"temperature": 0.75, "k": 2.0, "min_tokens_to_keep": 1.0}
    case = Case("c", method, "hand", logits, params)
    argv = shlex.split(repro_line("tests.ports.numpy_port:fn", case, "float32", options))
    assert argv[:2] == ["ees-theory", "check"]
    args = build_parser().parse_args(argv[1:])
    assert (args.port, args.method, args.dtype) == ("tests.ports.numpy_port:fn", method, "float32")
    assert options_from_args(args) == options
    again = Case.from_json(json.loads(args.case))
    assert np.array_equal(again.logits, logits) and again.params == params


def test_default_options_write_no_flag():
    case = Case("x", "ees", "hand", np.array([1.0, 0.0]), {"temperature": 1.0})
    assert repro_line("p:f", case, "float64", Options()) == (
        "ees-theory check p:f --method ees --dtype float64 --case "
        """'{"logits":["0x1.0000000000000p+0","0x0.0p+0"],"params":{"temperature":"0x1.0000000000000p+0"}}'""")


@pytest.mark.parametrize("flag", [["--strict"], ["--bands", "rigorous"]])
def test_draws_refuse_flags_they_do_not_use(flag, capsys):
    from ees_theory.cli import main

    rc = main(["check", "tests.meta.draws_ports:multinomial", "--method", "top-p", "--draws", "200", "-n", "1", *flag])
    assert rc == 2
    assert "the draws judge (--draws) does not use it" in capsys.readouterr().err


def test_a_journal_remembers_its_bands(tmp_path):
    from ees_theory import harness

    journal = tmp_path / "run.jsonl"
    harness.check("builtin", "top-k", "float32", examples=2, vectors=False, journal=str(journal), options=Options(bands="rigorous"))
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["options"]["bands"] == "rigorous"
    with pytest.raises(ValueError, match="options"):
        harness.check("builtin", "top-k", "float32", examples=2, vectors=False, journal=str(journal), resume=True, options=Options())
