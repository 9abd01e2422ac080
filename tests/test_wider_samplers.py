"""XTC, top-a, tail-free and quadratic sampling: the certified reference on hand-derived rows, the
parameter domains, the kernels against the reference, the judges, and the per-method record every
other place derives from (specification §7)."""

import math

import numpy as np
import pytest
import torch

from ees_theory import harness as cf
from ees_theory.judging.methods import Options
from ees_theory.judging.truncation import PARAMS, judge_truncation
from ees_theory.kernels.truncation import truncate_mask
from ees_theory.reference import from_probs, truncate
from ees_theory.judging.quadratic import judge_quadratic, quadratic_reference
from ees_theory.kernels import quadratic_logits
from ees_theory.core.records import INT_PARAMS, method_help
from ees_theory.core.truncation.registry import SAMPLERS, check_params
from ees_theory.spec.methods import OFF_VALUES, TRANSFORMS, check_transform_params

NEW = ("xtc", "top-a", "tfs")
LN2 = math.log(2.0)


def _xtc(z, policy="paper", **kw):
    prm = dict(threshold=0.1, probability=1.0, u=0.5)
    prm.update(kw)
    return truncate("xtc", z, policy=policy, **prm)


# ---- the reference, by hand ---------------------------------------------------------------------
def test_xtc_drops_all_but_the_last_choice_above_the_threshold():
    # p = (.4, .3, .2, .1) as exact probabilities: 0.4 and 0.3 reach 0.25, the top one goes
    r = _xtc(from_probs([0.4, 0.3, 0.2, 0.1]), threshold=0.25)
    assert r.kept == (1, 2, 3) and r.certified and r.extras["above"] == 2
    # one choice reaches the threshold: nothing to drop
    assert _xtc(from_probs([0.7, 0.2, 0.1]), threshold=0.5).kept == (0, 1, 2)
    # none reaches it
    assert _xtc(from_probs([0.4, 0.3, 0.3]), threshold=0.5).kept == (0, 1, 2)


def test_xtc_threshold_is_non_strict_and_ties_go_by_id():
    # uniform over 4: p = 1/4 exactly = threshold; all four reach it, ids 0-2 are dropped
    r = _xtc(np.zeros(4), threshold=0.25)
    assert r.kept == (3,) and r.certified and {c.method for c in r.decisions} <= {"exact-lw", "mpmath-128"}


def test_xtc_gate_conventions():
    z = from_probs([0.5, 0.25, 0.25])  # all three reach 0.25: with the gate open only id 2 stays
    assert _xtc(z, threshold=0.25, probability=0.5, u=0.5).kept == (0, 1, 2)  # u < probability: shut
    assert _xtc(z, "llama.cpp", threshold=0.25, probability=0.5, u=0.5).kept == (2,)  # u <= probability: open
    assert _xtc(z, "llama.cpp", threshold=0.25, probability=0.0, u=0.0).kept == (0, 1, 2)  # 0 never opens
    assert _xtc(z, threshold=0.25, probability=0.5, u=0.4).kept == (2,)


def test_xtc_min_keep_is_all_or_nothing_and_llama_counts_masked_entries():
    z = np.zeros(4)  # dropping 3 leaves 1
    assert _xtc(z, threshold=0.25, min_tokens_to_keep=2).kept == (0, 1, 2, 3)
    masked = np.array([0.0, 0.0, 0.0, -np.inf, -np.inf])  # 3 candidates in an array of 5
    assert _xtc(masked, threshold=0.3, min_tokens_to_keep=3).kept == (0, 1, 2)  # 3 - 2 < 3
    assert _xtc(masked, "llama.cpp", threshold=0.3, min_tokens_to_keep=3).kept == (2,)  # 5 - 2 >= 3


def test_top_a_threshold_is_quadratic_in_p_max():
    # p = (1/2, 1/4, 1/8, 1/8) exactly: a p_max^2 = a/4
    z = from_probs([0.5, 0.25, 0.125, 0.125])
    assert truncate("top-a", z, a=1.0).kept == (0, 1)  # 1/4 >= 1/4 (exact, kept), 1/8 < 1/4
    assert truncate("top-a", z, a=0.5).kept == (0, 1, 2, 3)  # 1/8 >= 1/8
    assert truncate("top-a", z, a=1.0, min_tokens_to_keep=3).k == 3
    r = truncate("top-a", z, a=1.0)
    assert r.certified and any(c.method == "exact-rational" for c in r.decisions)


def test_tfs_conventions_keep_different_indices():
    # p = (1/2, 1/4, 1/8, 1/16, 1/16): |d2| = (1/8, 1/16, 1/16), cdf = (1/2, 3/4, 1)
    z = from_probs([0.5, 0.25, 0.125, 0.0625, 0.0625])
    assert truncate("tfs", z, z=0.5).kept == (0, 1)  # count 1 (cdf_0 = z exactly): the original keeps 2
    assert truncate("tfs", z, policy="llama.cpp", z=0.5).kept == (0,)  # llama.cpp: 1
    assert truncate("tfs", z, z=0.8).kept == (0, 1, 2)
    assert truncate("tfs", z, policy="llama.cpp", z=0.8).kept == (0, 1)
    assert truncate("tfs", z, z=1.0).k == 5  # z = 1 is off


def test_tfs_flat_rows_and_few_candidates():
    assert truncate("tfs", np.zeros(6), z=0.5).k == 6  # no curvature: no tail
    # llama.cpp: uniform weights 1/4, cdf = (1/4, 1/2, 3/4, 1); two <= 1/2
    assert truncate("tfs", np.zeros(6), policy="llama.cpp", z=0.5).k == 2
    assert truncate("tfs", np.array([1.0, 0.0]), z=0.5).k == 1
    assert truncate("tfs", np.array([1.0, 0.0]), policy="llama.cpp", z=0.5).k == 2


# ---- domains ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, policy, params, error, words",
    [
        ("xtc", "paper", dict(threshold=0.0, probability=0.5, u=0.1), ValueError, "threshold must lie in (0, 1]"),
        ("xtc", "paper", dict(threshold=0.1, probability=1.5, u=0.1), ValueError, "probability must lie in [0, 1]"),
        ("xtc", "paper", dict(threshold=0.1, probability=0.5, u=1.0), ValueError, "u (the uniform draw) must lie in [0, 1)"),
        ("xtc", "llama.cpp", dict(threshold=-1.0, probability=0.5, u=0.1), ValueError, "threshold must be > 0"),
        ("xtc", "paper", dict(threshold=0.1, probability=0.5), TypeError, "needs the parameter 'u'"),
        ("top-a", "paper", dict(a=1.5), ValueError, "a must lie in [0, 1]"),
        ("tfs", "paper", dict(z=-0.1), ValueError, "z must lie in [0, 1]"),
        ("tfs", "transformers", dict(z=0.5), ValueError, "policy 'transformers' is not defined for tfs"),
    ],
)
def test_bad_parameters_are_named(method, policy, params, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        check_params(method, policy, params)


def test_llama_cpp_domains_read_every_value():
    assert check_params("tfs", "llama.cpp", {"z": 2.0})["z"] == 2.0
    assert truncate("tfs", np.zeros(5), policy="llama.cpp", z=2.0).k == 5
    assert check_params("xtc", "llama.cpp", dict(threshold=0.9, probability=-1.0, u=0.2))["probability"] == -1.0


# ---- the kernels -------------------------------------------------------------------------------
CASES = [
    ("xtc", "paper", dict(threshold=0.1, probability=1.0, u=0.5, min_tokens_to_keep=1)),
    ("xtc", "llama.cpp", dict(threshold=0.05, probability=0.3, u=0.3, min_tokens_to_keep=3)),
    ("top-a", "paper", dict(a=0.2, min_tokens_to_keep=2)),
    ("tfs", "paper", dict(z=0.9, min_tokens_to_keep=1)),
    ("tfs", "llama.cpp", dict(z=0.5, min_tokens_to_keep=2)),
]


@pytest.mark.parametrize("method, policy, params", CASES)
def test_float64_kernels_agree_with_the_reference(method, policy, params):
    rng = np.random.default_rng(7)
    for _ in range(25):
        z = rng.normal(0.0, 2.0, int(rng.integers(1, 24)))
        if z.size > 2:
            z[rng.integers(0, z.size)] = -np.inf
        want = set(truncate(method, z, policy=policy, **params).kept)
        got = truncate_mask(method, torch.tensor(z), 1.0, policy, "input", **params)
        assert set(np.flatnonzero(got.numpy()).tolist()) == want, z


def test_kernels_take_a_batch_with_masked_rows():
    z = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, -math.inf]])
    got = truncate_mask("xtc", z, threshold=0.1, probability=1.0, u=0.5).tolist()
    # row 1: p = (.644, .237, .087, .032), two reach 0.1; row 2: p = 1/3 each, all three reach it
    assert got == [[False, True, True, True], [False, False, True, False]]


@pytest.mark.parametrize("method", NEW)
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_kernels_conform_on_the_golden_vectors(method, dtype):
    for report in cf.check_builtin([method], [dtype], ["input"], examples=0):
        assert report.ok, report.text()
        assert report.counts()["cases"] >= 7


# ---- the mask judges ---------------------------------------------------------------------------
def _judge(method, z, params, kept, dtype="float32", policy="paper"):
    mask = np.zeros(len(z), dtype=bool)
    mask[list(kept)] = True
    return judge_truncation(method, np.asarray(z, dtype=np.float64), {"temperature": 1.0, **params}, mask, dtype, Options(policy=policy))


def test_xtc_judge_wants_the_least_probable_tokens():
    z = [2.0, 1.0, 0.0, -1.0]  # two reach 0.1: keep ids 1, 2, 3
    prm = dict(threshold=0.1, probability=1.0, u=0.5, min_tokens_to_keep=1)
    assert _judge("xtc", z, prm, [1, 2, 3]).status == "pass"
    v = _judge("xtc", z, prm, [0, 1, 2])  # the right count, the wrong end of the order
    assert v.status == "fail" and v.fault == "not-a-prefix" and "least probable" in v.message
    v = _judge("xtc", z, prm, [2, 3])
    assert (v.status, v.fault) == ("fail", "least-above-dropped")


def test_xtc_judge_names_the_gate_convention():
    z = [2.0, 1.0, 0.0, -1.0]
    prm = dict(threshold=0.1, probability=0.5, u=0.5, min_tokens_to_keep=1)
    v = _judge("xtc", z, prm, [1, 2, 3])  # llama.cpp's gate opened where text-generation-webui's stays shut
    assert (v.status, v.fault) == ("fail", "gate-comparison")
    assert _judge("xtc", z, prm, [1, 2, 3], policy="llama.cpp").status == "pass"


def test_top_a_and_tfs_judges_name_their_misreadings():
    v = _judge("top-a", [2.0, 1.0, 0.0], dict(a=0.5, min_tokens_to_keep=1), [0])  # min-p's a * p_max = .33 keeps 1
    assert (v.status, v.fault) == ("fail", "linear-threshold")
    z = [0.0, -1.0, -2.0, -3.0, -4.0, -5.0]  # cdf = (.644, .881, .968, 1): the original keeps 3, llama.cpp 2
    assert _judge("tfs", z, dict(z=0.9, min_tokens_to_keep=1), [0, 1, 2], "float64").status == "pass"
    v = _judge("tfs", z, dict(z=0.9, min_tokens_to_keep=1), [0, 1], "float64")
    assert (v.status, v.fault) == ("fail", "tail-index")


# ---- one record per method --------------------------------------------------------------------
def test_the_harness_grid_and_help_derive_from_the_records():
    for name, ms in SAMPLERS.items():
        m = cf.get_method(name)
        assert PARAMS[name] == tuple(p for p, prm in ms.params.items() if prm.grid)
        assert all(m.grid[p] == ms.params[p].grid for p in PARAMS[name])
        assert name in method_help()
    assert "n_vocab" not in PARAMS["mirostat-v1"] and {"k", "m", "min_tokens_to_keep"} <= INT_PARAMS
    assert OFF_VALUES["probability"] == 1.0  # a port without XTC's gate: every draw opens it
    assert SAMPLERS["xtc"].off == {"probability": 1.0, "min_tokens_to_keep": 1}
    assert SAMPLERS["xtc"].keeps_suffix and not SAMPLERS["top-a"].keeps_suffix


# ---- quadratic sampling --------------------------------------------------------------------------
def test_quadratic_reference_by_hand():
    from fractions import Fraction as F

    # k = s = 1/2 at c = 2, f = 1/4: d = (0, -1, -2, -3) -> -d^2/8 + d^3/8 = (0, -1/4, -3/2, -9/2)
    assert quadratic_reference(np.array([1.0, 0.0, -1.0, -2.0]), 0.25, 2.0) == [F(1), F(3, 4), F(-1, 2), F(-7, 2)]
    assert quadratic_reference(np.array([2.0, -np.inf, 0.0]), 1.0, 1.0) == [F(2), None, F(-2)]  # 2 - 2^2
    assert quadratic_reference(np.array([2.0, 1.0]), 0.0, 1.0) == [F(2), F(1)]  # f = 0: off


def test_quadratic_domain():
    with pytest.raises(ValueError, match="smoothing_factor must be >= 0"):
        check_transform_params("quadratic", {"smoothing_factor": -0.5})
    with pytest.raises(TypeError, match="needs the parameter 'smoothing_factor'"):
        check_transform_params("quadratic", {})
    with pytest.raises(ValueError, match="smoothing_curve must be finite"):
        check_transform_params("quadratic", {"smoothing_factor": 1.0, "smoothing_curve": math.nan})


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_quadratic_kernel_conforms_in_every_dtype(dtype):
    for report in cf.check_builtin(["quadratic"], [dtype], ["input"], examples=10):
        assert report.ok, report.text()
        assert report.counts()["cases"] >= 15


def test_quadratic_kernel_is_batched_and_keeps_masks():
    z = torch.tensor([[3.0, 2.0, 0.0], [0.0, -math.inf, -1.0]], dtype=torch.float16)
    out = quadratic_logits(z, 1.0, 3.0)  # 3 + d^3 and 0 + d^3
    assert out.dtype == torch.float16 and out.tolist() == [[3.0, 2.0, -24.0], [0.0, -math.inf, -1.0]]


def test_quadratic_judge_names_its_misreadings():
    z = np.array([3.0, 2.0, 0.0])
    assert judge_quadratic(z, 1.0, 3.0, np.array([10.0, 9.0, -17.0]), "float32").status == "pass"  # shifted by 7
    v = judge_quadratic(z, 1.0, 3.0, z, "float32")
    assert (v.status, v.fault) == ("fail", "factor-ignored")
    # c = 2 (k = s = 1/2), d = (0, -1, -3): exact 3 - d^2/2 + d^3/2 = (3, 2, -15)
    assert judge_quadratic(z, 1.0, 2.0, np.array([3.0, 2.0, -15.0]), "float32").status == "pass"
    v = judge_quadratic(z, 1.0, 2.0, np.array([3.0, 3.0, 12.0]), "float32")  # 3 - d^2/2 - d^3/2
    assert (v.status, v.fault) == ("fail", "curve-sign-flipped")
    v = judge_quadratic(z, 1.0, 2.0, np.array([3.0, 2.0, -6.0]), "float32")  # 3 - d^2
    assert (v.status, v.fault) == ("fail", "curve-ignored")
    v = judge_quadratic(z, 0.0, 1.0, np.array([3.0, 3.0, 3.0]), "float32")  # f = 0 is off, not "every token m"
    assert (v.status, v.fault) == ("fail", "zero-factor-applied")
    v = judge_quadratic(z, 1.0, 3.0, np.array([3.0, -np.inf, 0.0]), "float16")
    assert (v.status, v.fault) == ("fail", "wrong-transformed-logit")


def test_transform_record_drives_the_method():
    m = cf.get_method("quadratic")
    assert m.params == tuple(TRANSFORMS["quadratic"].params) == ("smoothing_factor", "smoothing_curve")
    assert m.grid["smoothing_factor"] == TRANSFORMS["quadratic"].params["smoothing_factor"].grid
    assert "quadratic (smoothing_factor, smoothing_curve)" in method_help()


def test_a_port_without_the_curve_conforms_when_it_says_so(capsys):
    from ees_theory.cli import main

    args = ["check", "tests.meta.wider_ports:quadratic_factor_only", "--method", "quadratic", "-n", "10", "--in-process"]
    assert main(args + ["--unsupported", "smoothing_curve"]) == 0
    assert "the port has no smoothing_curve" in capsys.readouterr().out  # the other cases: skipped, counted
    assert main(args) == 1  # asked for a curve it does not take


def test_an_xtc_port_without_its_gate_conforms_when_it_says_so(capsys):
    from ees_theory.cli import main

    args = ["check", "tests.meta.wider_ports:xtc_without_gate", "--method", "xtc", "--policy", "llama.cpp", "-n", "10", "--in-process"]
    assert main(args + ["--unsupported", "probability"]) == 0  # judged on the cases with probability 1
    assert "the port has no probability" in capsys.readouterr().out
    assert main(args) == 1


@pytest.mark.parametrize("policy", ["paper", "llama.cpp"])
def test_xtc_draws_are_judged_as_the_mixture_of_its_gate(policy):
    from ees_theory.running.draws import InProcessDrawsPort, check_draws
    from ees_theory.running.generate import generated_cases
    from tests.meta import wider_ports as wp

    cases = generated_cases("xtc", "float32", 10, seed=11, vocabs=(2, 3, 4, 5, 8, 12, 16, 32, 64))
    run = lambda fn: check_draws(InProcessDrawsPort(fn, fn.__name__), "xtc", "float32", cases=cases, draws=2000, shrink=False,  # noqa: E731
                                 options=Options(policy=policy))
    good = run(wp.xtc_draws)
    assert good.ok and sum(r["status"] == "pass" for r in good.records) == 10
    bad = run(wp.xtc_draws_always)  # acts on every draw: tokens reaching the threshold never come
    assert not bad.ok
