"""The table of judges: one entry per sampler of the specification, and no per-sampler choice
left to an if-chain on the sampler's name elsewhere in the harness."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from ees_theory.judging import judges
from ees_theory.judging.judges import JUDGES, SamplerJudge, get_judge
from ees_theory.judging.methods import get_method
from ees_theory.spec.methods import SAMPLERS

HARNESS = Path(judges.__file__).resolve().parent.parent


def test_every_sampler_has_exactly_one_judge():
    assert list(JUDGES) == list(SAMPLERS)  # the specification's names, its order, each once
    classes = [type(j) for j in JUDGES.values()]
    assert len(set(classes)) == len(classes)
    for name, j in JUDGES.items():
        assert isinstance(j, SamplerJudge) and j.name == name
        assert get_judge(name) is j


def test_a_second_judge_for_a_sampler_is_refused():
    with pytest.raises(ValueError, match="two judges for sampler 'top-p'"):
        judges._table(judges.TopP(), judges.MinP(), judges.TopP())


def test_the_harness_method_reads_its_judge():
    for name in SAMPLERS:
        m = get_method(name)
        assert m.sampler_judge is JUDGES[name]
        # stateful samplers are those the specification gives a state mu
        assert m.mirostat == JUDGES[name].stateful == ("mu" in SAMPLERS[name].params)


def test_every_named_misreading_is_explained():
    # the misreadings a judge's code returns (``return ["ties-dropped"]``): each explained in that judge
    for j in JUDGES.values():
        assert "min-keep-ignored" in j.misreadings
        assert all(isinstance(v, str) and len(v) > 20 for v in j.misreadings.values())
        src = [textwrap.dedent(inspect.getsource(c)) for c in type(j).__mro__ if c.__module__.startswith(judges.__name__)]
        returns = [n.value for t in src for n in ast.walk(ast.parse(t)) if isinstance(n, ast.Return) and isinstance(n.value, ast.List)]
        named = {e.value for r in returns for e in r.elts if isinstance(e, ast.Constant)}
        assert named <= set(j.misreadings), (j.name, named - set(j.misreadings))


def _sampler_comparisons(path: Path) -> list[str]:
    """``name == "top-p"``, ``method in ("eta", "typical")``, ``name.startswith("mirostat")``."""
    names = set(SAMPLERS) | {"mirostat"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            for c in node.comparators:
                elts = c.elts if isinstance(c, (ast.Tuple, ast.List, ast.Set)) else [c]
                if any(isinstance(e, ast.Constant) and e.value in names for e in elts):
                    found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith":
            if any(isinstance(a, ast.Constant) and a.value in names for a in node.args):
                found.append(f"{path.name}:{node.lineno}")
    return sorted(found, key=lambda h: int(h.split(":")[1]))


def test_no_if_chain_on_sampler_names_outside_the_judges():
    found = [hit for p in sorted(HARNESS.glob("*.py")) for hit in _sampler_comparisons(p)]
    assert found == []


def test_the_chain_detector_sees_a_chain(tmp_path):
    p = tmp_path / "m.py"
    p.write_text('if name == "top-k":\n    pass\nelif name in ("eta", "typical"):\n    pass\nx = name.startswith("mirostat")\n')
    assert _sampler_comparisons(p) == ["m.py:1", "m.py:3", "m.py:5"]
