"""The words of an outcome are written once, in ``ees_theory/judging/outcomes.py``.

Everywhere else a status or an engine row's verdict is written or compared through the
``Status``/``RowVerdict`` members: a literal ``"fail"`` in a comparison would keep comparing
equal if the enum's word changed in one place and not in the other, and silently stop matching.
The scan reads the package's syntax trees, so prose (docstrings, messages, doctests) and count
names (``counts()["failed"]``) are not outcomes and are not reported.
"""

from __future__ import annotations

import ast
from pathlib import Path


from ees_theory.judging.outcomes import Grade, RowVerdict, Status

PACKAGE = Path(__file__).resolve().parent.parent / "ees_theory"
#: where the words are declared
HOME = PACKAGE / "judging" / "outcomes.py"
#: the outcome words, spelled out here rather than read from the enums, in every form a literal
#: could take (the enums' words, and the past-tense and negative forms a journal never holds)
WORDS = frozenset({"pass", "passed", "admissible", "fail", "failed", "skipped", "tested", "untested",
                   "conforms", "fails", "not-run", "suspect", "rigorous-only"})
#: the words a journal or a results file holds (the enums' words): a literal collection of two or
#: more of these lists outcomes, where one that mixes in "passed" or "failed" names counts
JOURNAL_WORDS = frozenset({"pass", "admissible", "fail", "skipped", "tested", "conforms", "fails", "not-run"})
#: keys and attribute names whose value is an outcome
OUTCOME_KEYS = frozenset({"status", "verdict", "grade"})
#: the constructors whose first argument is a case's status
VERDICT_CLASSES = frozenset({"Verdict", "DrawVerdict"})
#: "path:line" -> why the literal is not an outcome; empty: every outcome goes through the enums
ALLOWED: dict[str, str] = {}


def _word(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS:
        return node.value
    return None


def _is_outcome_target(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in OUTCOME_KEYS
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value in OUTCOME_KEYS
    return isinstance(node, ast.Name) and node.id in OUTCOME_KEYS


def outcome_literals(source: str) -> list[tuple[int, str, str]]:
    """Each outcome literal of ``source`` as ``(line, word, where)``, in source order."""
    found: dict[tuple[int, int], tuple[int, str, str]] = {}

    def hit(node, where):
        w = _word(node)
        if w is not None:  # a literal seen in two roles is reported once, in its first
            found.setdefault((node.lineno, node.col_offset), (node.lineno, w, where))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                hit(operand, "comparison")
                if isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                    for elt in operand.elts:
                        hit(elt, "membership test")
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value in OUTCOME_KEYS:
                    hit(v, f"{k.value!r} value")
            # a table keyed by outcomes (one entry per verdict) spells every key
            if keys and all(_word(k) for k in keys):
                for k in keys:
                    hit(k, "key of a table of outcomes")
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in OUTCOME_KEYS:
                    hit(kw.value, f"{kw.arg}= argument")
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in VERDICT_CLASSES and node.args:
                hit(node.args[0], f"{name} status")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_outcome_target(t) for t in targets):
                hit(node.value, "assigned status")
        elif isinstance(node, ast.MatchValue):
            hit(node.value, "match case")
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and e.value in JOURNAL_WORDS for e in node.elts):
            for elt in node.elts:
                hit(elt, "list of outcomes")
    return [found[k] for k in sorted(found)]


def test_the_word_list_covers_every_outcome():
    # a new outcome word would otherwise pass the scan unseen
    assert {m.value for m in (*Status, *RowVerdict, *Grade)} <= WORDS


def test_the_scan_finds_every_form():
    src = '''
def f(v, r, rows):
    """A docstring saying "fail" and the counts' "passed" are prose."""
    if v.status == "fail" or "admissible" != v.status:
        pass
    if r.verdict in ("conforms", "not-run"):
        pass
    rec = {"status": "pass", "count": "skipped", "passed": 3}
    marks = {"conforms": "+", "fails": "-"}
    row = Row(verdict="fails", passed=2)
    out = Verdict("fail", "message")
    rec["status"] = "skipped"
    v.verdict = "not-run"
    match v.status:
        case "tested":
            pass
    for c in ("passed", "failed"):
        rows.append(getattr(r, c))
    counts = [sum(r.verdict == w for r in rows) for w in ("conforms", "fails")]
    return {"cases": 1, "failed": 0}, Verdict(Status.FAILED, "fail"), ("fail",)
'''
    got = [(line, word) for line, word, _ in outcome_literals(src)]
    assert got == [(4, "fail"), (4, "admissible"), (6, "conforms"), (6, "not-run"), (8, "pass"),
                   (9, "conforms"), (9, "fails"), (10, "fails"), (11, "fail"), (12, "skipped"),
                   (13, "not-run"), (15, "tested"), (19, "conforms"), (19, "fails")]


def test_no_outcome_literal_outside_the_enums():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME:
            continue
        rel = path.relative_to(PACKAGE.parent).as_posix()
        bad += [f"{rel}:{line}: {word!r} as {where}" for line, word, where in outcome_literals(path.read_text(encoding="utf-8"))
                if f"{rel}:{line}" not in ALLOWED]
    assert bad == [], "write the outcome as a member of ees_theory.judging.outcomes.Status/RowVerdict:\n" + "\n".join(bad)


def test_every_allowed_literal_is_still_there():
    # an entry whose literal has gone would silently allow the next one written on that line
    for where in ALLOWED:
        rel, line = where.rsplit(":", 1)
        hits = {ln for ln, _, _ in outcome_literals((PACKAGE.parent / rel).read_text(encoding="utf-8"))}
        assert int(line) in hits, where
