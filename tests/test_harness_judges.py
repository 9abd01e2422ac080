"""The table of judges: one entry per sampler of the specification, and no per-sampler choice
left to an if-chain on the sampler's name elsewhere in the harness."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import textwrap
from pathlib import Path

import pytest

from ees_theory.judging import judges
from ees_theory.judging.judges import JUDGES, SamplerJudge, get_judge
from ees_theory.judging.methods import get_method
from ees_theory.core.truncation.registry import SAMPLERS

HARNESS = Path(judges.__file__).resolve().parent.parent


def test_every_sampler_has_exactly_one_judge():
    assert list(JUDGES) == list(SAMPLERS)  # the specification's names, its order, each once
    classes = [type(j) for j in JUDGES.values()]
    assert len(set(classes)) == len(classes)
    for name, j in JUDGES.items():
        assert isinstance(j, SamplerJudge) and j.name == name
        assert get_judge(name) is j


def test_the_judges_are_the_classes_that_name_a_sampler():
    # the documented table: every judge, in the specification's order, with the module that declares
    # it and the class it is assembled as (a sampler added later stands where its rule's ORDER puts
    # it among these)
    core = "ees_theory.core.truncation"
    documented = [
        ("top-k", f"{core}.top_k", "TopK"), ("top-p", f"{core}.top_p", "TopP"), ("min-p", f"{core}.min_p", "MinP"),
        ("typical", f"{core}.typical", "Typical"), ("epsilon", f"{core}.epsilon", "Epsilon"), ("eta", f"{core}.eta", "Eta"),
        ("p-less", f"{core}.p_less", "PLess"), ("p-less-norm", f"{core}.p_less", "PLessNorm"),
        ("top-n-sigma", f"{core}.top_n_sigma", "TopNSigma"), ("mirostat-v1", f"{core}.mirostat", "MirostatV1"),
        ("mirostat-v2", f"{core}.mirostat", "MirostatV2"), ("xtc", f"{core}.xtc", "Xtc"), ("top-a", f"{core}.top_a", "TopA"),
        ("tfs", f"{core}.tfs", "Tfs")]
    names = {name for name, _, _ in documented}
    found = [(name, getattr(type(j), "declaration", type(j)).__module__, type(j).__name__) for name, j in JUDGES.items() if name in names]
    assert found == documented


def test_the_judges_folder_holds_no_sampler():
    # a sampler's judge is declared in its own module: here only the shared machinery
    assert sorted(m.name for m in pkgutil.iter_modules(judges.__path__)) == ["base"]
    assert list(judges.declared_judges()) == list(SAMPLERS)
    for name, d in judges.declared_judges().items():
        assert d.__module__.startswith("ees_theory.core.truncation.") and not issubclass(d, SamplerJudge)
        assert type(JUDGES[name]).declaration is d


def test_assembly_puts_the_declaration_over_its_base():
    class Judge:
        base = "mass"
        mass_param = "q"
        reads_temperature = False

        def misread(self, st, row, params, ref, kept, options):
            return ["far-off"]

    j = judges.assemble("top-q", Judge)
    assert isinstance(j, judges.BASES["mass"]) and j.name == "top-q" and type(j).__name__ == "TopQ"
    assert j.misread(None, None, None, None, set(), None) == ["far-off"]
    assert j.mass_param == "q" and "temperature-ignored" not in j.misreadings and "min-keep-ignored" in j.misreadings
    with pytest.raises(TypeError, match="plain class"):
        judges.assemble("top-q", type(j))
    with pytest.raises(TypeError, match="plain class"):
        judges.assemble("top-q", Judge())
    with pytest.raises(ValueError, match="base 'quadratic'"):
        judges.assemble("top-q", type("Judge", (), {"base": "quadratic"}))


def _judges_package(tmp_path, monkeypatch, modules: dict[str, str]) -> str:
    name = "judges_" + tmp_path.name.replace("-", "_")
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    head = "from ees_theory.judging.judges import SamplerJudge\n"
    for mod, text in modules.items():
        (tmp_path / name / f"{mod}.py").write_text(head + text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_discovery_takes_each_named_class_once(tmp_path, monkeypatch):
    pkg = _judges_package(tmp_path, monkeypatch, {
        # a shared base without a name of its own is no judge; a subclass naming another sampler is
        "b_mass": "class _Shared(SamplerJudge):\n    pass\nclass Tfs(_Shared):\n    name = 'tfs'\nclass TopP(_Shared):\n    name = 'top-p'\n",
        # a class imported from another module is that module's judge, not this one's
        "a_more": "from .b_mass import TopP\nclass Later(TopP):\n    pass\nclass TopQ(SamplerJudge):\n    name = 'top-q'\n",
    })
    found = judges.discover_judges(pkg, skip=frozenset(), declarations={})
    assert [(n, type(j).__name__) for n, j in found.items()] == [("top-p", "TopP"), ("tfs", "Tfs"), ("top-q", "TopQ")]


def test_a_second_judge_for_a_sampler_is_refused(tmp_path, monkeypatch):
    pkg = _judges_package(tmp_path, monkeypatch, {"one": "class A(SamplerJudge):\n    name = 'top-p'\n",
                                                  "two": "class B(SamplerJudge):\n    name = 'top-p'\n"})
    with pytest.raises(ValueError, match="two judges for sampler 'top-p'"):
        judges.discover_judges(pkg, skip=frozenset(), declarations={})


def test_a_declared_judge_and_a_class_for_one_sampler_are_refused(tmp_path, monkeypatch):
    pkg = _judges_package(tmp_path, monkeypatch, {"one": "class A(SamplerJudge):\n    name = 'top-p'\n"})
    with pytest.raises(ValueError, match="two judges for sampler 'top-p'"):
        judges.discover_judges(pkg, skip=frozenset(), declarations={"top-p": type("Judge", (), {})})


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
        # its declaration and the judge classes above it (the assembled class has no source of its own)
        classes = [c for c in type(j).__mro__ if c.__module__.startswith((judges.__name__, "ees_theory.core.truncation"))
                   and "declaration" not in vars(c)]
        src = [textwrap.dedent(inspect.getsource(c)) for c in classes]
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


def test_protocol_names_every_fault_class_a_judge_can_give():
    # the judges own their misreadings; the protocol's table of faults must name each of them
    import re
    from pathlib import Path

    from ees_theory.judging import methods
    from ees_theory.judging.draws import DRAW_FAULTS
    from ees_theory.judging.judges import JUDGES

    text = (Path(methods.__file__).resolve().parents[1] / "harness" / "PROTOCOL.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z0-9][a-z0-9-]*)`", text))
    faults = {f for j in JUDGES.values() for f in j.misreadings} | set(methods.EES.MISREADINGS) | set(DRAW_FAULTS)
    assert len(faults) > 30
    assert sorted(faults - named) == []


def test_protocol_misreadings_table_is_generated_from_the_judges():
    from pathlib import Path

    from ees_theory.judging import judges

    text = (Path(judges.__file__).resolve().parents[2] / "harness" / "PROTOCOL.md").read_text(encoding="utf-8")
    assert judges.MISREADINGS_BEGIN in text
    assert judges.with_misreading_table(text) == text, (
        "PROTOCOL.md's table of misreadings differs from the judges' declarations; rewrite it with "
        "ees_theory.judging.judges.with_misreading_table(text)"
    )
    # every judge's every misreading has its row, naming that sampler
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for name, j in judges.JUDGES.items():
        for fault in j.misreadings:
            assert any(r.startswith(f"| `{fault}` |") and (name in r.split("|")[2] or "every sampler" in r) for r in rows), (name, fault)
