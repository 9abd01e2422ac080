"""Quantities in the book's tables are typeset: the plain-text statements of the specification and
the ledger become MyST math, one symbol per quantity (``ees_theory.report.typeset``)."""

from __future__ import annotations

import pytest

from ees_theory.report import Table, band_text, claims_index, ledger_table
from ees_theory.report.typeset import ASCII_MATH, Prose, typeset
from ees_theory.spec import STATEMENTS


def _text_parts(p: Prose) -> str:
    return "".join(s for kind, s in p.parts if kind == "text")


@pytest.mark.parametrize("claim_id", sorted(STATEMENTS))
def test_every_claim_statement_leaves_no_plain_text_math(claim_id):
    p = typeset(STATEMENTS[claim_id])
    left = ASCII_MATH.search(_text_parts(p))
    assert left is None, f"{claim_id}: {left.group()!r} left as text in {p.markdown()!r}"
    assert str(p) == STATEMENTS[claim_id]  # a terminal still gets the specification's words


@pytest.mark.parametrize("plain, myst", [
    # written out by hand from the specification's notation (book/spec.md, §5)
    ("f(k) = Hbar_k - P_k is strictly decreasing in k", r"$f(k) = \bar H_k - P_k$ is strictly decreasing in $k$"),
    ("tau -> 0 gives k* -> 1 (or t for a t-way tie at the top)",
     r"$\tau \to 0$ gives $k^* \to 1$ (or $t$ for a $t$-way tie at the top)"),
    ("T_min <= T <= T_max, and T is non-decreasing in H", r"$T_{\min} \le T \le T_{\max}$, and $T$ is non-decreasing in $H$"),
    ("p_max = 0.30 over 100 tied tokens", r"$p_{\max} = 0.30$ over 100 tied tokens"),
    ("eta sampling keeps every token epsilon sampling keeps (eta <= epsilon)",
     r"eta sampling keeps every token epsilon sampling keeps ($\eta \le \epsilon$)"),
    ("12 certified spot checks, 0 violations", "12 certified spot checks, 0 violations"),
    ("the p-less threshold sum p^2 lies in [1/V, max p]", r"the p-less threshold $\sum p^{2}$ lies in $[1/V, \max p]$"),
    ("k* at τ = 1e-4", r"$k^*$ at $\tau = 10^{-4}$"),
])
def test_typeset_by_hand(plain, myst):
    assert typeset(plain).markdown() == myst


def test_html_math_is_the_span_mathjax_reads():
    html = typeset("k* <= n - 1").html()
    assert html == '<span class="math notranslate nohighlight">\\(k^* \\le n - 1\\)</span>'
    # text around the formula is escaped, not interpreted
    assert typeset("x & y: k* = 2").html().startswith("x &amp; y: <span")


def test_math_table_typesets_headers_cells_caption_and_keeps_plain_str():
    t = Table([["k* (reference)", 3]], ["what", "k*"], caption="rows with p_max >= 0.5", math=True)
    html = t._repr_html_()
    assert "\\(k^*\\)" in html and "\\(p_{\\max} \\ge 0.5\\)" in html
    assert "k* (reference)" in str(t)  # the terminal form is untouched
    md = t.markdown()
    assert md.splitlines()[0] == r"**rows with $p_{\max} \ge 0.5$**"
    assert "| what | $k^*$ |" in md
    # without math=True nothing is typeset (tables of identifiers stay as they are)
    assert "\\(" not in Table([["k*", 1]], ["a", "b"])._repr_html_()


def test_ledger_tables_typeset_statements():
    from ees_theory.ledger import claims

    verdicts = claims.run_ledger(ids=["EES-MONO", "EES-TAU-INV"])
    md = claims_index(verdicts).markdown()
    assert r"$f(k) = \bar H_k - P_k$ is strictly decreasing in $k$" in md
    assert "Hbar" not in md and "k\\*" not in md
    html = ledger_table(verdicts)._repr_html_()
    assert "\\(k^*\\)" in html and "Hbar" not in html


def test_unbounded_band_is_infinity_not_a_number():
    assert band_text(1.7976931348623157e308) == "∞"
    assert band_text(float("inf")) == "∞"
    assert band_text(2.5e-3) == "0.0025"
    assert band_text(2.5e-3, ".3g") == "0.0025"
