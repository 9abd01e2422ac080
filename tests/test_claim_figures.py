"""The titles of the claim figures say what the stored counterexamples show.

Each title is read from its page's source; the sign changes and the rise are worked out here from
the row recorded in ``ledger/verdicts.json``, with the certified gap enclosures of the reference.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ees_theory.ledger.claims import certified_gaps
from ees_theory.ledger.registry import from_hex, recorded_verdicts

ROOT = Path(__file__).resolve().parent.parent
WORDS = {"once": 1, "twice": 2, "three times": 3, "four times": 4, "never": 0}


def title(page: str) -> str:
    titles = re.findall(r"""set_title\((["'])(.+?)\1""", (ROOT / page).read_text(encoding="utf-8"))
    assert len(titles) == 1, f"{page}: expected one figure title, found {titles}"
    return titles[0][1]


def stored_row(claim_id: str):
    return from_hex(recorded_verdicts()[claim_id]["counterexample"]["logits"])


def certified_signs(row) -> list[int]:
    gaps = certified_gaps(row)
    signs = []
    for g in gaps:
        # only certified signs count: an enclosure that holds 0 decides nothing
        assert g.f_lo > 0 or g.f_hi < 0, f"f({g.k}) has no certified sign: [{g.f_lo}, {g.f_hi}]"
        signs.append(1 if g.f_lo > 0 else -1)
    return signs


def sign_changes(signs: list[int]) -> int:
    return sum(a != b for a, b in zip(signs, signs[1:]))


def test_sign_changes_counts_what_it_should():
    assert sign_changes([-1, 1, -1, -1]) == 2
    assert sign_changes([1, 1, -1]) == 1
    assert sign_changes([-1, -1]) == 0


def test_unique_title_states_the_sign_changes_of_the_stored_row():
    text = title("proofs/ees-unique.md")
    m = re.search(r"changes sign (" + "|".join(WORDS) + r"|\d+ times)", text)
    assert m, f"the EES-UNIQUE title does not say how often f changes sign: {text!r}"
    said = WORDS.get(m.group(1)) if m.group(1) in WORDS else int(m.group(1).split()[0])
    assert said == sign_changes(certified_signs(stored_row("EES-UNIQUE"))), text


def test_mono_title_states_a_certified_rise_of_the_stored_row():
    text = title("proofs/ees-mono.md")
    m = re.search(r"rises from \$?k = (\d+)\$? to \$?k = (\d+)\$?", text)
    assert m, f"the EES-MONO title does not name the rise: {text!r}"
    a, b = int(m.group(1)), int(m.group(2))
    gaps = {g.k: g for g in certified_gaps(stored_row("EES-MONO"))}
    assert gaps[a].f_hi < gaps[b].f_lo, f"f({b}) is not certified above f({a})"


@pytest.mark.parametrize("page", ["proofs/ees-unique.md", "proofs/ees-mono.md"])
def test_claim_figures_make_small_gaps_visible(page):
    # the values that carry the claim are about 1e-3 apart on a scale of 1: a plain linear axis
    # hides them, so the figure uses a symmetric-log axis or a zoomed inset
    src = (ROOT / page).read_text(encoding="utf-8")
    assert re.search(r"gap_figure\([^)]*(yscale=\"symlog\"|inset=)", src), page


def test_claim_pages_call_claims_claims():
    # a statement under test is a "Claim" (refuted or proved), never typeset as a "Conjecture"
    pages = sorted((ROOT / "proofs").glob("*.md"))
    assert pages
    for p in pages:
        assert "prf:conjecture" not in p.read_text(encoding="utf-8"), p.name


# ---- formulas in figure text are typeset --------------------------------------------------------

#: A formula written as plain text: a one-letter quantity set to a value (``n = 2``, ``T = 0.8``),
#: ``k*``, ``f(k)``, ``T(H)``, ``T0``, ``T_min``, ``p_max``, ``sum of p``, ``max p``, ``1/n``,
#: ``n - 1``, a Greek letter spelt out or as a bare Unicode glyph, or a lone one-letter axis label.
PLAIN_MATH = re.compile(
    r"\b[A-Za-z](?:_\w+)? = |\bk\*|\b[fT]\([A-Za-z]\)|\bT0\b|\b[Tp]_(?:min|max)\b|\bsum (?:of )?p\b|\bmax p\b"
    r"|\b1/[nV]\b|\bn - 1\b|\b(?:theta|delta|kappa)\b|[τθδκσε]|^[A-Za-z]$|^[A-Za-z] \(")
_MATH = re.compile(r"\$[^$]*\$")
_FIELD = re.compile(r"\{[^{}]*\}")  # an f-string's replacement field is code, not text
_FIGURE_TEXT = re.compile(
    r"""(?:caption:\s*|set_(?:title|xlabel|ylabel)\(|label=|annotate\(|\.text\([^"']*)[rf]{0,2}(["'])(.*?)(?<!\\)\1""")
FIGURE_PAGES = sorted([*ROOT.glob("proofs/*.md"), *ROOT.glob("notebooks/*.md"), *ROOT.glob("book/*.md"),
                       ROOT / "ees_theory/report/claims.py"])


def plain_math(text: str) -> list[str]:
    """The plain-text formulas left in one string of figure text, outside its ``$...$`` math."""
    text = _FIELD.sub("0", _MATH.sub(" ", text)).strip()
    return [m.group() for m in PLAIN_MATH.finditer(text)]


def test_plain_math_finds_what_it_should():
    assert plain_math("Certified k* of a row") == ["k*"]
    assert plain_math("dynatemp (temp = 1, delta = 0.5)") == ["delta"]
    assert plain_math(r"EDT with $\theta = 1$, $N = 0.8$, $T_0 = 1$") == []
    assert plain_math("the hot limit n - 1 = 11") == ["n - 1"]
    assert plain_math("k") == ["k"] and plain_math("k (log scale)") == ["k ("]
    assert plain_math("temperature τ") == ["τ"]
    assert plain_math("kept tokens (certified)") == [] and plain_math("top-p (0.9), min-p") == []


@pytest.mark.parametrize("page", FIGURE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_figure_text_typesets_its_formulas(page):
    src = page.read_text(encoding="utf-8")
    left = [(m.group(2), found) for m in _FIGURE_TEXT.finditer(src) if (found := plain_math(m.group(2)))]
    assert left == [], f"{page.name}: plain-text formulas in figure text (write them as $...$ math): {left}"
