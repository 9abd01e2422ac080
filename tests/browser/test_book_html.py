"""The built book's HTML, read without a browser (fast): what every page must or must not contain.

Run after the book is built, with the built site named by ``EES_BOOK_HTML`` (``.ci/book`` does);
without it the module is skipped. Checks, over every content page:

* tables write quantities as formulas: no ``p_max``, ``Hbar``, ``>=``, ``k*``, ... (the pattern
  ``ees_theory.report.typeset.ASCII_MATH``) in a table cell outside code and math;
* no float64 overflow value (``1.8e+308``) shown as if it were a number: an unbounded band is ``∞``;
* a code cell a reader sees does not hold build plumbing: path edits, working-folder changes,
  scratch-folder clean-up or bare ``assert`` guards (those cells are removed or folded);
* the references page has a stable anchor (``#ref-<key>``) for every entry of ``book/references.bib``,
  and every citation on every page points at one of them.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ees_theory.report.typeset import ASCII_MATH

HTML = os.environ.get("EES_BOOK_HTML")
if not HTML:
    pytest.skip("EES_BOOK_HTML is not set: build the book and set it (the .ci/book step does)", allow_module_level=True)

ROOT = Path(HTML).resolve()
BIB = Path(__file__).resolve().parents[2] / "book" / "references.bib"
SKIP_DIRS = {"_static", "_sources", "_modules", "reports", "_images"}
PAGES = sorted(p for p in ROOT.rglob("*.html")
               if not SKIP_DIRS & set(p.relative_to(ROOT).parts) and p.name not in {"genindex.html", "search.html", "py-modindex.html"})
#: A visible code line that is build plumbing, not something a reader should copy.
PLUMBING = re.compile(r"^\s*(assert\s|sys\.path\.(insert|append)|os\.chdir\(|shutil\.rmtree\(|.*tempfile\.mkdtemp\()", re.M)
#: The largest float64 printed as a bound (``1.8e+308``, ``1.79769e+308``, ``1.7976931348623157e+308``).
OVERFLOW = re.compile(r"\b1\.8e\+308\b|\b1\.79769\d*e\+308\b")


class _Page(HTMLParser):
    """Collects, from a built page, the text of table cells outside code and math, the code of
    visible code cells, the element ids and the citation links."""

    _VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "col", "source", "area", "base"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.table_text: list[str] = []
        self.code: list[str] = []
        self.ids: set[str] = set()
        self.cites: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and "#ref-" in (a.get("href") or ""):
            self.cites.append(a["href"])
        if tag not in self._VOID:
            self.stack.append((tag, set((a.get("class") or "").split())))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def _within(self, pred) -> bool:
        return any(pred(t, c) for t, c in self.stack)

    def handle_data(self, data):
        if self._within(lambda t, c: t in ("script", "style")):
            return
        in_math = self._within(lambda t, c: t in ("code", "pre") or "math" in c)
        if not in_math:
            self.text.append(data)
        if self._within(lambda t, c: t in ("td", "th", "caption")) and not in_math:
            self.table_text.append(data)
        folded = self._within(lambda t, c: t == "div" and {"tag_hide-input", "tag_remove-input", "tag_hide-cell"} & c)
        if self._within(lambda t, c: t == "div" and "cell_input" in c) and not folded:
            self.code.append(data)


def _parse(page: Path) -> _Page:
    p = _Page()
    p.feed(page.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def parsed():
    if not (ROOT / "index.html").exists():
        pytest.fail(f"no built book at {ROOT} (index.html missing)")
    return {page.relative_to(ROOT).as_posix(): _parse(page) for page in PAGES}


def test_tables_typeset_their_quantities(parsed):
    bad = []
    for name, p in parsed.items():
        text = " ".join(p.table_text)
        for m in ASCII_MATH.finditer(text):
            bad.append(f"{name}: {m.group()!r} in {text[max(0, m.start() - 50):m.end() + 50]!r}")
    assert not bad, f"{len(bad)} plain-text formula(s) in tables:\n  " + "\n  ".join(bad[:30])


def test_no_overflow_value_shown_as_a_bound(parsed):
    bad = [f"{name}: {m.group()}" for name, p in parsed.items() for m in OVERFLOW.finditer(" ".join(p.text))]
    assert not bad, "the largest float64 is printed as a number (an unbounded band is shown as ∞):\n  " + "\n  ".join(bad[:20])


def test_visible_code_cells_hold_no_build_plumbing(parsed):
    bad = [f"{name}: {m.group().strip()!r}" for name, p in parsed.items() for m in PLUMBING.finditer("".join(p.code))]
    assert not bad, "build plumbing in code cells a reader sees (tag the cell remove-cell):\n  " + "\n  ".join(bad[:20])


def test_every_reference_has_a_stable_anchor_and_every_citation_resolves(parsed):
    keys = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M)
    assert keys, f"no entries in {BIB}"
    refs = parsed.get("references.html")
    assert refs is not None, "the book has no references page"
    missing = [k for k in keys if f"ref-{k}" not in refs.ids]
    assert not missing, f"references.html has no anchor for {missing}"
    dangling = []
    for name, p in parsed.items():
        for href in p.cites:
            path, anchor = href.split("#", 1)
            target = (ROOT / name).parent / path if path else ROOT / name
            if target.resolve() != (ROOT / "references.html").resolve() or anchor not in refs.ids:
                dangling.append(f"{name}: {href}")
    assert not dangling, "citations that do not point at a references entry:\n  " + "\n  ".join(dangling[:20])
    cited = {h.split("#ref-", 1)[1] for p in parsed.values() for h in p.cites}
    for key in ("ees2025", "edt2024", "higham2002", "holm1979"):
        assert key in cited, f"no page cites {key}"
