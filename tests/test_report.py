"""The book's table and figure helpers (ees_theory.report): escaping, wrapping, errors."""

import matplotlib

matplotlib.use("Agg")

import pytest

from ees_theory.report import Code, Link, Table, figure, ledger_table, log_ticks, relative_path, shared_legend, table


def test_html_escapes_cells_and_wraps():
    t = Table([("<script>", "a|b", 1.5)], ["x", "y", "z"])
    h = t._repr_html_()
    assert "<script>" not in h and "&lt;script&gt;" in h
    # cells wrap instead of pushing the table past the column
    assert "overflow-wrap:break-word" in h and "max-width:100%" in h
    # a numeric column is right-aligned, a text column left-aligned
    assert h.count("text-align:right") == 2 and h.count("text-align:left") == 4


def test_markdown_escapes_pipes_and_keeps_links():
    t = Table([(Link("EES-MONO", "ees-mono.md"), "|f| grows")], ["claim", "note"])
    md = t.markdown().splitlines()
    assert md[2] == "| [EES-MONO](ees-mono.md) | \\|f\\| grows |"
    assert 'href="ees-mono.html"' in t._repr_html_()


def test_code_cells_are_monospace():
    # monospace cells (hex floats, paths) may break anywhere: they have no spaces to wrap at
    assert '<code style="overflow-wrap:anywhere">0x1p-1</code>' in Table([(Code("0x1p-1"),)], ["hex"])._repr_html_()


def test_empty_and_bool_cells():
    assert str(Table([(None, True, False)], ["a", "b", "c"])).splitlines()[-1].split() == ["–", "yes", "no"]


@pytest.mark.parametrize(
    "rows, cols, exc, words",
    [
        ([(1, 2)], ["a"], ValueError, "row 0 has 2 cells"),
        ([{"b": 1}], ["a"], ValueError, "key(s) ['b']"),
        (["ab"], ["a"], TypeError, "sequence or a mapping"),
        ([(1,)], "a", TypeError, "sequence of strings"),
    ],
)
def test_bad_tables_are_named(rows, cols, exc, words):
    with pytest.raises(exc, match=None) as info:
        Table(rows, cols)
    assert words in str(info.value)


def test_fmt_for_unknown_column_is_an_error():
    with pytest.raises(ValueError, match="fmt names column"):
        Table([(1,)], ["a"], fmt={"b": ".2f"})


def test_table_without_columns_needs_mappings():
    with pytest.raises(ValueError, match="give the column names"):
        table([(1, 2)])


def test_relative_path_never_shows_the_machine(tmp_path):
    inner = tmp_path / "sub" / "f.txt"
    assert relative_path(inner, tmp_path) == "sub/f.txt"
    assert relative_path("/elsewhere/deep/results.jsonl", tmp_path) == "results.jsonl"


def test_ledger_table_counts_every_verdict_and_undecided():
    from ees_theory.ledger import claims

    verdicts = claims.run_ledger(ids=["EES-EXIST", "SEED-TAU"])
    t = ledger_table(verdicts, page_dir="notebooks")
    assert len(t) == 2
    assert [r[1] for r in t.rows] == [v.verdict for v in verdicts]
    assert [r[-1] for r in t.rows] == [v.undecided for v in verdicts]
    assert "[SEED-TAU](../proofs/seed-tau.md)" in t.markdown()


def test_shared_legend_one_entry_per_label_outside_axes():
    fig, axes = figure(1, 2)
    for ax in axes.flat:
        ax.plot([0, 1], [0, 1], label="a")
        ax.plot([0, 1], [1, 0], label="b")
        ax.legend()
    leg = shared_legend(fig)
    assert [t.get_text() for t in leg.get_texts()] == ["a", "b"]
    assert all(ax.get_legend() is None for ax in axes.flat)
    fig2, _ = figure()
    with pytest.raises(ValueError, match="no labelled"):
        shared_legend(fig2)


def test_log_ticks_label_at_most_the_requested_decades():
    fig, ax = figure(squeeze=True)
    ax.plot([1, 1e8], [0, 1])
    ax.set_xscale("log")
    ax.set_xlim(1, 1e8)
    log_ticks(ax, numticks=4)
    fig.canvas.draw()
    labelled = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
    inside = [t for t in labelled if 1 <= t.get_position()[0] <= 1e8]
    assert 2 <= len(inside) <= 5
    minor = [t for t in ax.xaxis.get_minorticklabels() if t.get_text()]
    assert minor == []


def test_claims_index_lists_every_recorded_claim_with_its_evidence():
    from ees_theory.ledger import claims
    from ees_theory.report import claims_index

    recorded = claims.recorded_verdicts()
    verdicts = claims.run_ledger()
    t = claims_index(verdicts)
    assert [str(r[0]) for r in t.rows] == list(recorded)
    assert [r[1] for r in t.rows] == [recorded[cid]["verdict"] for cid in recorded]
    # every verdict states how much evidence backs it (a counterexample size or a spot-check count)
    assert all(r[2] is not None for r in t.rows), [(str(r[0]), r[2]) for r in t.rows]


def test_spec_chapter_states_every_claim_of_the_ledger():
    # the book's specification chapter is the normative text: every claim the ledger tracks must
    # be stated in its section 5, and it must state no claim the ledger does not track
    import re
    from pathlib import Path

    from ees_theory.ledger import claims

    text = (Path(__file__).resolve().parents[1] / "book" / "spec.md").read_text(encoding="utf-8")
    section5 = text.split("(spec-claims)=", 1)[1].split("(spec-contract)=", 1)[0]
    stated = re.findall(r"^\| ([A-Z][A-Z0-9-]+) \|", section5, flags=re.M)
    assert sorted(stated) == sorted(claims.recorded_verdicts())


def test_markdown_cells_are_literal():
    # claim statements hold '*', '_' and '$': in a markdown table they must stay text
    md = Table([("T(c*theta, c*H) = T(theta, H); T_min <= T; costs $5",)], ["statement"]).markdown()
    assert md.splitlines()[2] == "| T(c\\*theta, c\\*H) = T(theta, H); T\\_min \\<= T; costs \\$5 |"


def test_compact_tables_are_smaller():
    wide, small = Table([(1,)], ["a"])._repr_html_(), Table([(1,)], ["a"], compact=True)._repr_html_()
    assert "font-size:0.8em" in small and "font-size:0.8em" not in wide


def test_every_key_of_real_records_and_draw_statistics_is_declared():
    # a failing mask run (stored logits, repro line, shrunk case), a passing one, and draws runs with a
    # certain failure and a family-wise rejection: each record's keys are CaseRecord's, the shrunk
    # form's ShrunkCase's
    from ees_theory.harness import InProcessPort, Options, plan, run_check
    from ees_theory.running.cases import CaseRecord, ShrunkCase
    from ees_theory.judging.draws import DrawStatistics
    from ees_theory.running.draws import InProcessDrawsPort, check_draws
    from tests.meta import draws_ports
    from tests.ports import numpy_port as good

    def keeps_one_more(logits, temperature):
        return good.ees(logits, temperature, inclusive=True)

    records = []
    for fn in (keeps_one_more, good.ees):
        r = run_check(InProcessPort(fn, fn.__name__), "ees", "float64", plan("ees", "float64", examples=4, seed=1), options=Options())
        records += r.records
    drawn = []
    for kind, method in (("inverse_cdf", "top-p"), ("off_by_one", "top-p"), ("untruncated", "top-p"), ("inverse_cdf", "mirostat-v2")):
        cases = plan(method, "float64", examples=4, seed=1)[:12]
        r = check_draws(InProcessDrawsPort(draws_ports.for_method(kind, method), kind), method, cases=cases, draws=400)
        drawn += r.records
    records += drawn
    assert {rec["status"] for rec in records} >= {"pass", "fail"}
    seen = set().union(*records)
    assert {"shrunk", "repro", "logits", "pvalue", "certain", "details", "answer"} <= seen, sorted(seen)
    declared = set(CaseRecord.__annotations__)
    for rec in records:
        assert set(rec) <= declared, sorted(set(rec) - declared)
        if "shrunk" in rec:
            assert set(rec["shrunk"]) <= set(ShrunkCase.__annotations__), sorted(set(rec["shrunk"]) - set(ShrunkCase.__annotations__))
    # the draws judge's statistics: every key of a real run's details is DrawStatistics'
    stats = set().union(*(rec.get("details") or {} for rec in drawn))
    assert {"pvalue", "token", "tested_steps", "admissible_k"} <= stats, sorted(stats)
    assert sorted(stats - set(DrawStatistics.__annotations__)) == []
