"""The method records (``ees_theory.spec.methods``, each truncation sampler's in its module, all of
them in ``ees_theory.core.records``) and the truncation rule table
(``ees_theory.core.truncation.registry``): one record per method, every choice read from it.

* no code outside ``spec/`` and ``core/truncation/`` tells methods apart by comparing a name with a
  string literal (it asks the record instead);
* every grid value passes its record's validator, and every policy's "off" values switch the
  sampler off on a row (kept set = the finite tokens, computed here from the row itself);
* the command line's ``--method`` choices, the port protocol's table of methods and the rule table
  are the records.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from ees_theory.core import records as core_records
from ees_theory.core.records import RECORDS, record
from ees_theory.core.truncation import policy as policy_mod
from ees_theory.core.truncation.registry import SAMPLERS, check_params, register, rule, rules
from ees_theory.spec import methods as spec_methods
from ees_theory.spec.methods import FORMS, OTHER_METHODS, REQUIRED, TRANSFORMS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ees_theory"

# ---- (a) no method-name comparisons with string literals ------------------------------------------
_LIT = r"""["']([\w.-]+)["']"""
_PATTERNS = (
    re.compile(r"\b\w*method\s*(?:==|!=)\s*" + _LIT),  # method == "top-k", case.method != "ees"
    re.compile(_LIT + r"\s*(?:==|!=)\s*[\w.]*method\b"),  # "top-k" == method
    re.compile(r"\b\w*method\s+(?:not\s+)?in\s+\(\s*" + _LIT),  # method in ("edt", "dynatemp")
    re.compile(r"\.name\s*(?:==|!=)\s*" + _LIT),  # ms.name == "xtc"
    re.compile(r"\b\w*method\.startswith\(\s*" + _LIT),  # method.startswith("mirostat")
)
#: Method-name comparisons still allowed, as {file: count}. Empty: a comparison with a method's
#: name is a question for its record (``record(method).stateful``, ``.form``, ...).
ALLOWED: dict[str, int] = {}


def method_name_comparisons(root: Path = PACKAGE) -> dict[str, list[str]]:
    """``{file: [line, ...]}`` of the comparisons of a method with a literal method name."""
    names = set(RECORDS)
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if rel.startswith(("ees_theory/spec/", "ees_theory/core/truncation/")):
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pat in _PATTERNS:
                for m in pat.finditer(line):
                    lit = m.group(1)
                    prefix = pat is _PATTERNS[-1] and any(n.startswith(lit) for n in names)
                    if lit in names or prefix:
                        found.setdefault(rel, []).append(f"{rel}:{i}: {line.strip()}")
    return found


def test_the_scan_finds_every_form_of_comparison(tmp_path):
    pkg = tmp_path / "ees_theory"
    (pkg / "harness").mkdir(parents=True)
    (pkg / "spec").mkdir()
    (pkg / "harness" / "x.py").write_text(
        'if method == "top-k": pass\n'
        'if "ees" != case.method: pass\n'
        'if self.method in ("edt", "dynatemp"): pass\n'
        'if ms.name == "xtc": pass\n'
        'if method.startswith("mirostat"): pass\n'
        'if method == "auto": pass\n'  # not a method name: a kernel's algorithm
        'if c.method != method: pass\n'  # two variables: no name written down
    )
    (pkg / "spec" / "y.py").write_text('if method == "top-k": pass\n')  # the records' own module
    found = method_name_comparisons(pkg)
    assert list(found) == ["ees_theory/harness/x.py"]
    assert [line.split(":")[1] for line in found["ees_theory/harness/x.py"]] == ["1", "2", "3", "4", "5"]


def test_no_method_name_comparisons_outside_the_records():
    found = method_name_comparisons()
    counts = {f: len(lines) for f, lines in found.items()}
    new = {f: found[f] for f in counts if counts[f] > ALLOWED.get(f, 0)}
    assert not new, "compare records, not names (core.records.record(method).stateful, .form, ...):\n" + "\n".join(
        line for lines in new.values() for line in lines
    )
    stale = {f: (ALLOWED[f], counts.get(f, 0)) for f in ALLOWED if counts.get(f, 0) < ALLOWED[f]}
    assert not stale, f"lower ALLOWED (file: (allowed, found)): {stale}"


# ---- (b) grids pass their validators; "off" switches a sampler off ----------------------------------
def _base_params(ms, policy: str) -> dict:
    """Every parameter of a sampler at the first value of its grid (or the value its policy pins)."""
    out = {}
    for name, prm in ms.params.items():
        pinned = ms.fixed.get(policy, {})
        if name in pinned:
            out[name] = pinned[name]
        elif prm.grid:
            out[name] = prm.grid[0]
        elif prm.default is REQUIRED:
            raise AssertionError(f"{ms.name}: {name} is required but has no grid")
    return out


def _as_port(ms, name: str, v):
    return int(v) if ms.params[name].integer else float(v)


@pytest.mark.parametrize("method", list(SAMPLERS))
def test_sampler_grids_pass_the_validator_under_every_policy(method):
    ms = SAMPLERS[method]
    for policy in ms.policies:
        base = _base_params(ms, policy)
        for name, prm in ms.params.items():
            if name in ms.fixed.get(policy, {}):
                continue
            for v in prm.grid:
                params = {k: _as_port(ms, k, x) for k, x in {**base, name: v}.items()}
                assert check_params(method, policy, params)[name] == params[name]


@pytest.mark.parametrize("method", list(OTHER_METHODS) + list(TRANSFORMS))
def test_other_grids_pass_the_validator(method):
    ms = record(method)
    for policy in ms.policies:
        for name, prm in ms.params.items():
            assert prm.grid, f"{method}: {name} has no grid"
            for v in prm.grid:
                assert prm.check(v, policy) == v


@pytest.mark.parametrize(
    "method, name, bad",
    [("ees", "temperature", 0.0), ("edt", "N", 1.0), ("edt", "theta", -1.0), ("dynatemp", "temp", math.nan), ("temperature", "temperature", -2.0)],
)
def test_other_validators_refuse_values_outside_the_domain(method, name, bad):
    with pytest.raises(ValueError, match=name):
        record(method).params[name].check(bad, "paper")


# the row: ties, a masked entry, a wide spread; the finite entries are what a no-op keeps
_ROW = [2.0, 1.0, 1.0, 0.5, -math.inf, -3.0, 4.0, 0.0]
_OFFS = [(name, pol) for name, r in rules().items() for pol, p in r.policies.items() if p.off]


def test_every_no_op_condition_has_off_values():
    for name, r in rules().items():
        for pol, p in r.policies.items():
            assert bool(p.noop_text) == bool(p.off), f"{name} under {pol}: a no-op condition needs values that meet it"
    assert len(_OFFS) >= 11


@pytest.mark.parametrize("method, policy", _OFFS)
def test_off_values_keep_every_finite_token(method, policy):
    torch = pytest.importorskip("torch")
    from ees_theory.kernels.truncation import truncate_mask
    from ees_theory.reference.truncation import truncate

    ms = SAMPLERS[method]
    off = dict(rule(method).policy(policy).off)
    params = {k: _as_port(ms, k, v) for k, v in {**_base_params(ms, policy), **off}.items()}
    finite = [i for i, z in enumerate(_ROW) if z != -math.inf]
    assert sorted(truncate(method, _ROW, 1.0, policy, **params).kept) == finite
    for dtype in (torch.float64, torch.float16):
        mask = truncate_mask(method, torch.tensor(_ROW, dtype=dtype), 1.0, policy, **params)
        assert torch.nonzero(mask).reshape(-1).tolist() == finite
    # and the values are really what does it: the grid's first values cut this row
    on = {k: _as_port(ms, k, v) for k, v in _base_params(ms, policy).items()}
    if method == "xtc":  # an open gate: the draw under the probability
        on.update(probability=1.0, u=0.5)
    assert sorted(truncate(method, _ROW, 1.0, policy, **on).kept) != finite


# ---- (c) the records are the one table -------------------------------------------------------------
def test_cli_method_choices_are_the_records():
    from ees_theory.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for command in ("check", "stress", "engines"):
        opt = next(a for a in sub.choices[command]._actions if "--method" in a.option_strings)
        assert list(opt.choices) == list(RECORDS), command
    check = next(a for a in sub.choices["check"]._actions if "--method" in a.option_strings)
    for name, ms in SAMPLERS.items():  # the help lists each sampler with its parameters
        shown = [p for p, prm in ms.params.items() if prm.grid]
        assert (f"{name} ({', '.join(shown)})" if shown else name) in check.help


def test_every_harness_method_has_a_record():
    from ees_theory.running import runner  # noqa: F401 - registers every method
    from ees_theory.judging.methods import METHODS

    assert set(METHODS) == set(RECORDS)
    for name, m in METHODS.items():
        rec = record(name)
        assert m.record is rec, name  # the harness reads the record itself
        assert m.temperature_param == rec.temperature_param, name
        assert rec.form in FORMS and rec.stateful == (rec.form == "mask-with-state"), name


def test_protocol_method_table_is_generated_from_the_records():
    text = (PACKAGE / "harness" / "PROTOCOL.md").read_text(encoding="utf-8")
    assert core_records.TABLE_BEGIN in text
    assert core_records.with_method_table(text) == text, (
        "PROTOCOL.md's table of methods differs from the records; rewrite it with "
        "ees_theory.core.records.with_method_table(text)"
    )
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows[: len(RECORDS)]] == list(RECORDS)


def test_rule_table_matches_the_sampler_records():
    assert list(rules()) == list(SAMPLERS)
    for name, r in rules().items():
        assert tuple(r.policies) == SAMPLERS[name].policies
        assert SAMPLERS[name] is r.module.RECORDS[name] and list(r.module.RECORDS) == list(r.module.RULES), name
        for p in r.policies.values():
            assert isinstance(p, policy_mod.Policy) and p.min_keep in policy_mod.MIN_KEEP
            if "min_tokens_to_keep" in SAMPLERS[name].params:
                assert p.min_keep != "none", name
            else:
                assert p.min_keep == "none", name


def test_every_rule_module_holds_both_drivers():
    # the certified reference and the torch kernels call a rule module's certify and kernel
    import inspect

    for r in rules().values():
        assert list(inspect.signature(r.module.certify).parameters)[0:2] == ["row", "ctx"], r.name
        assert list(inspect.signature(r.module.kernel).parameters) == ["r", "prm", "pol", "noop", "rule", "policy"], r.name


#: the documented order of the samplers: the order every "expected one of" message lists them in (the
#: registry's refusal); a sampler added later stands where its module's ORDER puts it among these
DOCUMENTED_ORDER = ["top-k", "top-p", "min-p", "typical", "epsilon", "eta", "p-less", "p-less-norm", "top-n-sigma",
                    "mirostat-v1", "mirostat-v2", "xtc", "top-a", "tfs"]


def test_discovered_rules_keep_the_documented_order():
    assert [name for name in rules() if name in DOCUMENTED_ORDER] == DOCUMENTED_ORDER
    assert {name: (r.module.__name__.rsplit(".", 1)[1], dict(r.variant)) for name, r in rules().items()
            if r.variant or name == "eta"} == {"eta": ("eta", {}), "p-less": ("p_less", {"norm": False}),
                                               "p-less-norm": ("p_less", {"norm": True}),
                                               "mirostat-v1": ("mirostat", {"version": 1}), "mirostat-v2": ("mirostat", {"version": 2})}


def _package(tmp_path, monkeypatch, modules: dict[str, str]) -> str:
    name = "declared_" + tmp_path.name.replace("-", "_")
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    for mod, text in modules.items():
        (tmp_path / name / f"{mod}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_rules_are_found_in_their_declared_order_whatever_the_file_names(tmp_path, monkeypatch):
    from ees_theory.core.truncation.registry import declared_rules

    pkg = _package(tmp_path, monkeypatch, {"a_last": 'RULES = {"tfs": {}}\nORDER = 30\n',
                                           "z_first": 'RULES = {"top-q": {}, "top-k": {"w": 2}}\nORDER = 5\n',
                                           "m_middle": 'RULES = {"xtc": {}}\nORDER = 20\n', "helpers": "X = 1\n"})
    found = declared_rules(pkg, skip=frozenset({"helpers"}))
    assert [(n, m.__name__.rsplit(".", 1)[1], v) for n, (m, v) in found.items()] == [
        ("top-q", "z_first", {}), ("top-k", "z_first", {"w": 2}), ("xtc", "m_middle", {}), ("tfs", "a_last", {})]
    with pytest.raises(TypeError, match=rf"{pkg}.helpers declares no RULES table"):
        declared_rules(pkg, skip=frozenset())


def test_a_rule_module_without_its_order_is_refused(tmp_path, monkeypatch):
    from ees_theory.core.truncation.registry import declared_rules

    pkg = _package(tmp_path, monkeypatch, {"one": 'RULES = {"top-k": {}}\nORDER = 1\n', "two": 'RULES = {"tfs": {}}\nORDER = "2"\n'})
    with pytest.raises(TypeError, match=rf"{pkg}.two declares no ORDER"):
        declared_rules(pkg, skip=frozenset())


def test_a_sampler_declared_twice_is_refused(tmp_path, monkeypatch):
    from ees_theory.core.truncation.registry import declared_rules

    pkg = _package(tmp_path, monkeypatch, {"one": 'RULES = {"top-k": {}}\nORDER = 1\n', "two": 'RULES = {"top-k": {}}\nORDER = 2\n'})
    with pytest.raises(ValueError, match=rf"'top-k' is declared by both {pkg}.one and {pkg}.two"):
        declared_rules(pkg, skip=frozenset())


def test_registration_refuses_bad_rules():
    from ees_theory.core.truncation import top_k

    with pytest.raises(ValueError, match="already registered"):
        register("top-k", top_k)
    with pytest.raises(ValueError, match=r"'top-q' has no record in ees_theory.core.truncation.top_k.RECORDS"):
        register("top-q", top_k)
    with pytest.raises(ValueError, match="unknown truncation method 'top-q'"):
        rule("top-q")
    with pytest.raises(ValueError, match="policy 'vllm' is not defined for top-k"):
        rule("top-k").policy("vllm")


def test_records_refuse_a_bad_form():
    with pytest.raises(ValueError, match="form must be one of"):
        spec_methods.MethodSpec("x", {}, ("paper",), "", form="probabilities")
    by_policy = spec_methods.Param(REQUIRED, {"paper": spec_methods.real("z")})
    with pytest.raises(ValueError, match=r"x: z's domain is given for the policies \('paper',\), not its policies \('paper', 'llama.cpp'\)"):
        spec_methods.MethodSpec("x", {"z": by_policy}, ("paper", "llama.cpp"), "")
    with pytest.raises(ValueError, match="unknown method 'top-q'"):
        record("top-q")


def test_fixed_parameters_are_refused_off_their_value():
    with pytest.raises(ValueError, match="llama.cpp's top-k has no min_keep"):
        check_params("top-k", "llama.cpp", {"k": 2, "min_tokens_to_keep": 2})
    assert check_params("top-k", "transformers", {"k": 2, "min_tokens_to_keep": 2})["min_tokens_to_keep"] == 2
