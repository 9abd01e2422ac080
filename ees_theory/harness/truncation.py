"""The truncation samplers (top-k, top-p, min-p, typical, epsilon, eta, p-less, p-less-norm,
top-n-sigma, mirostat v1/v2) as conformance methods, one :class:`Truncation` each.

**Port signature.** ``fn(logits, temperature, **params) -> bool mask`` (True = kept), the
parameters by name as ``PARAMS`` lists them (``k``, ``min_tokens_to_keep`` and ``m`` as ints,
the rest as floats). Mirostat ports also receive the state ``mu`` (bits) and the uniform draw
``u`` and return ``(mask, token, new_mu)``. The engine convention the answer is judged against is
the run's ``policy`` (:class:`~.methods.Options`), the reference's policy of
:func:`ees_theory.reference.truncation.truncate`; a port implements one engine's convention.

**Judgement.** Every comparison a sampler makes is certified by the reference. The error of a
float port is bounded per row by :func:`ees_theory.harness.bands.truncation_row_bounds` (the
row's own weights and sums, in the dtype and accumulation mode; the a-priori
:func:`ees_theory.tolerances.truncation_bounds` has the same keys); a comparison inside that bound may go
either way. Because each sampler's kept count is monotone in its parameter, "every comparison
within the bound may flip" is the same as "the parameter may move by the bound": the admissible
kept counts are those the reference gives over that parameter band (``p +- cum`` for top-p,
``min_p e^(+-logit)`` for min-p, ``mu +- logp / ln 2`` for mirostat v2, ...; p-less, which has no
parameter, flips its two deciding comparisons directly). The reference's own answer passes; another
admissible one is ``admissible`` (counted); anything else fails with a fault class. A row uniform
over a power-of-two number of candidates has dyadic probabilities, computed exactly in every
dtype: there an exact tie (``p_i = epsilon``, mass exactly ``p``, ...) is binding, as the policy
says. Kept sets must be the most probable tokens (near-ties within the logit bound may swap;
exact ties are free unless ``strict_ties``); typical keeps a prefix of its own score order.

>>> v = judge_truncation("min-p", np.array([1.0, 1.0, 0.0]), {"temperature": 1.0, "min_p": 1.0, "min_tokens_to_keep": 1},
...                      np.array([True, False, False]), "float32")
>>> v.status, v.fault          # the tied top token has p_i = min_p * p_max exactly: '>=' keeps it
('fail', 'strict-comparison')
"""

from __future__ import annotations

import math
from typing import Any, Callable

import mpmath
import numpy as np

from .. import reference, spec, tolerances
from ..spec.methods import INT_PARAMS
from ..core.truncation import mirostat, p_less
from ..reference import truncation as rt
from .bands import truncation_row_bounds
from .methods import EES, Method, Options, OutputFault, Verdict, _to_numpy, register_method

__all__ = ["Truncation", "TRUNCATION_METHODS", "PARAMS", "INT_PARAMS", "judge_truncation"]

#: parameters after ``temperature``, in the order the harness lists them: the specification's
#: parameter table without ``n_vocab`` (a port reads the vocabulary size from the row itself)
PARAMS: dict[str, tuple[str, ...]] = {
    name: tuple(p for p in ms.params if p != "n_vocab") for name, ms in spec.methods.SAMPLERS.items()
}
TRUNCATION_METHODS = tuple(PARAMS)

_TEMPERATURES = (0.5, 0.7, 1.0, 1.0, 1.0, 1.5, 2.0)
_GRID = {
    "k": (1, 2, 3, 5, 10, 40),
    "min_tokens_to_keep": (1, 1, 1, 1, 2),
    "p": (0.1, 0.5, 0.8, 0.9, 0.95, 1.0),
    "min_p": (0.01, 0.05, 0.1, 0.2, 0.5),
    "mass": (0.2, 0.5, 0.9, 0.95),
    "epsilon": (1e-4, 3e-4, 1e-3, 0.01, 0.05),
    "n": (0.5, 1.0, 1.5, 2.0, 3.0),
    "tau": (2.0, 3.0, 5.0),
    "eta": (0.1, 0.1, 0.5),
    "mu": (2.0, 4.0, 6.0, 10.0),
    "u": (0.05, 0.3, 0.5, 0.9),
    "m": (2, 5, 100),
}
#: samplers whose comparisons are rational in the probabilities (exact on dyadic rows)
_RATIONAL = frozenset({"top-k", "top-p", "min-p", "epsilon", "typical", "p-less", "p-less-norm"})
#: samplers whose kept set is a union of exact-tie blocks (a threshold on a per-token value)
_THRESHOLD = frozenset({"min-p", "epsilon", "eta", "p-less", "p-less-norm", "top-n-sigma", "mirostat-v2"})
_LN2 = math.log(2.0)


def port_params(params: dict[str, float]) -> dict[str, Any]:
    """A case's parameters as a port receives them (ints where the sampler counts tokens).

    >>> port_params({"temperature": 1.0, "k": 3.0})
    {'temperature': 1.0, 'k': 3}
    """
    out: dict[str, Any] = {}
    for name, v in params.items():
        if name in INT_PARAMS:
            if float(v) != int(v):
                raise ValueError(f"parameter {name} must be a whole number, got {v!r}")
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out


class _Stats:
    """What the bounds and the membership checks need of one row at one temperature."""

    def __init__(self, row: np.ndarray, tau: float):
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        self.size = int(z.size)
        self.order = spec.sorted_order(z)[: int(finite.sum())]  # -inf (masked) sorts last
        self.values = z[self.order]  # canonical order: logit descending, ids ascending on ties
        self.n = int(self.values.size)
        self.tau = float(tau)
        x = self.values / self.tau
        self.R = float(x[0] - x[-1]) if self.n else 0.0
        self.X = float(np.max(np.abs(x))) if self.n else 0.0
        self.uniform = self.n > 0 and bool(np.all(self.values == self.values[0]))

    def blocks(self) -> np.ndarray:
        """Counts at which an exact-tie block ends (0 and n included)."""
        v = self.values
        ends = [0] + [i for i in range(1, self.n) if v[i] != v[i - 1]] + [self.n]
        return np.array(ends)

    def dyadic(self) -> bool:
        """Uniform over 2**j candidates: every probability, sum and square is exact in any dtype."""
        n = self.n
        return self.uniform and n & (n - 1) == 0 and n <= 4096


class Truncation(Method):
    """One truncation sampler of the reference, judged as the module docstring says."""

    def __init__(self, name: str):
        self.name = name
        self.sampler_params = PARAMS[name]
        self.params = ("temperature",) + self.sampler_params
        self.grid = {"temperature": _TEMPERATURES, **{p: _GRID[p] for p in self.sampler_params}}
        self.mirostat = name.startswith("mirostat")

    # ---- calling ports --------------------------------------------------------------------------
    def call(self, fn: Callable, row: np.ndarray, params: dict[str, float]) -> Any:
        prm = port_params(params)
        return fn(row, prm.pop("temperature"), **prm)

    def call_batched(self, fn: Callable, rows: np.ndarray, params: list[dict[str, float]]) -> Any:
        cols = {
            name: np.array([p[name] for p in params], dtype=np.int64 if name in INT_PARAMS else np.float64) for name in self.params
        }
        return fn(rows, cols.pop("temperature"), **cols)

    def split_batched(self, raw: Any, count: int) -> list[Any]:
        if self.mirostat and isinstance(raw, tuple) and len(raw) == 3:  # (masks, tokens, mus)
            masks, tokens, mus = (_to_numpy(r) for r in raw)
            return [(m, t, u) for m, t, u in zip(super().split_batched(masks, count), np.asarray(tokens), np.asarray(mus))]
        return super().split_batched(raw, count)

    # ---- reading answers ------------------------------------------------------------------------
    def _mask(self, raw: Any, vocab: int) -> np.ndarray:
        return EES.normalize(self, raw, vocab)

    def normalize(self, raw: Any, vocab: int) -> Any:
        if not self.mirostat:
            return self._mask(raw, vocab)
        if isinstance(raw, dict):
            raw = (raw.get("mask"), raw.get("token"), raw.get("mu"))
        if not isinstance(raw, (tuple, list)) or len(raw) != 3:
            raise OutputFault("bad-output", f"a {self.name} port returns (mask, token, new_mu); got {type(raw).__name__}")
        mask = self._mask(raw[0], vocab)
        token, mu = _to_numpy(raw[1]), _to_numpy(raw[2])
        if isinstance(token, np.ndarray) and token.size == 1:
            token = token.reshape(())[()]
        if isinstance(token, (bool, np.bool_)) or not isinstance(token, (int, np.integer)) or not 0 <= int(token) < vocab:
            raise OutputFault("bad-output", f"the chosen token must be an int id in 0..{vocab - 1}, got {token!r}")
        if isinstance(mu, np.ndarray) and mu.size == 1:
            mu = mu.reshape(())[()]
        if isinstance(mu, (bool, np.bool_)) or not isinstance(mu, (int, float, np.integer, np.floating)):
            raise OutputFault("bad-output", f"the new mu must be a float, got {type(mu).__name__}")
        if not math.isfinite(float(mu)):
            raise OutputFault("nan", f"returned {float(mu)} for the new mu")
        return mask, int(token), float(mu)

    def encode(self, value: Any) -> dict:
        if not self.mirostat:
            return EES.encode(self, value)
        mask, token, mu = value
        return {"kept": [int(i) for i in np.flatnonzero(mask)], "token": int(token), "mu": float(mu).hex()}

    def decode(self, obj: dict, vocab: int) -> Any:
        if "kept" not in obj and "mask" not in obj:
            raise OutputFault("bad-output", f"a {self.name} answer needs 'kept' (token ids) or 'mask'")
        mask = EES.decode(self, obj, vocab)
        if not self.mirostat:
            return mask
        if "token" not in obj or "mu" not in obj:
            raise OutputFault("bad-output", f"a {self.name} answer needs 'token' (the chosen id) and 'mu' (hex float)")
        from ..spec.formats import from_hex

        try:
            mu = from_hex(obj["mu"])
        except (TypeError, ValueError) as exc:
            raise OutputFault("bad-output", f"'mu': {exc}") from None
        return self.normalize((mask, obj["token"], mu), vocab)

    # ---- the reference --------------------------------------------------------------------------
    def _truncate(self, row: np.ndarray, params: dict[str, float], policy: str, **override: Any) -> rt.TruncationResult:
        prm = port_params(params)
        tau = prm.pop("temperature")
        prm.update(override)
        return reference.truncate(self.name, row, tau, policy, **prm)

    def reference(self, row: np.ndarray, params: dict[str, float], options: Options) -> rt.TruncationResult:
        return self._truncate(row, params, options.policy)

    def expected_json(self, ref: rt.TruncationResult) -> dict:
        out = {
            "policy": ref.policy,
            "k": ref.k,
            "kept": [int(i) for i in ref.kept],
            "certified": ref.certified,
            "margin": float(ref.margin).hex() if math.isfinite(ref.margin) else "inf",
        }
        if self.mirostat:
            out["token"] = int(ref.token)
            out["mu"] = float(ref.mu).hex()
            out["mu_decimal"] = mpmath.nstr(ref.mu, 25)
        return out

    # ---- the judgement --------------------------------------------------------------------------
    def bounds(self, st: _Stats, row: np.ndarray, dtype: str, options: Options) -> dict[str, float]:
        H = float(reference.entropy(row, st.tau)) if self.name in ("eta", "typical") or self.mirostat else 0.0
        try:  # this row's bounds (finite in every dtype); the a-priori table where they cannot be had
            return truncation_row_bounds(row, st.tau, dtype, options.accumulate, H)
        except (ValueError, OverflowError, ZeroDivisionError):
            return tolerances.truncation_bounds(dtype, options.accumulate, st.n, st.R, st.X, H)

    def _band(self, st, row, params, ref, b, options) -> list[dict] | None:
        """Parameter settings at the edges of the error band (``None``: no claim; ``[]``: exact)."""
        name, pol = self.name, options.policy
        u = tolerances.unit_roundoff(st.dtype, options.accumulate)
        if self.name in _RATIONAL and st.dyadic():
            return []
        if name == "top-k":
            return []  # a comparison of logits: handled by the membership tolerance
        if name in ("p-less", "p-less-norm"):
            return []  # no parameter: flips of its deciding comparisons (see _flip_counts)
        if not math.isfinite(b["prob"]):
            return None
        if name == "top-p":
            p, d = params["p"], b["cum"] + b["underflow"]
            lo_dom = 0.0 if pol == "transformers" else 2.0**-1074
            lo, hi = p - d, p + d
            if pol != "llama.cpp":
                lo, hi = max(lo, lo_dom), min(hi, 1.0)
            return [{"p": lo}, {"p": hi}]
        if name == "min-p":
            mp = params["min_p"]
            if mp <= 0:
                return []
            d = max(b["logit"] + 4 * u * abs(math.log(mp)) + u, 2 * b["prob"])
            lo, hi = mp * math.exp(-d), mp * math.exp(d)
            if mp <= 1.0:
                hi = min(hi, 1.0)
            return [{"min_p": lo}, {"min_p": hi}]
        if name in ("epsilon", "eta"):
            eps = params["epsilon"]
            r = b["prob"] + (b["entropy"] + 6 * u if name == "eta" else 0.0)
            if r >= 0.5:
                return None
            tiny = b["underflow"]
            lo = max(eps * (1 - r) ** 2 - tiny, 2.0**-1074)
            hi = min(eps * (1 + r) ** 2 + tiny, 1.0 - 2.0**-53)
            return [{"epsilon": lo}, {"epsilon": hi}]
        if name == "top-n-sigma":
            nn = params["n"]
            if st.n <= 1 or st.uniform or (pol == "llama.cpp" and nn <= 0):
                return []
            x = st.values / st.tau
            sigma = float(np.std(x, ddof=1 if pol == "sample-std" else 0))
            d_sigma = b["logit"] + 2 * (b["sum"] + 3 * u) * (st.X + sigma)
            d = (b["logit"] + abs(nn) * d_sigma) / sigma
            lo = max(nn - d, 2.0**-1074 if pol == "llama.cpp" else 0.0)  # n <= 0 is llama.cpp's no-op, not an error
            return [{"n": lo}, {"n": nn + d}]
        if name == "typical":
            mass, d = params["mass"], b["cum"] + b["underflow"]
            lo, hi = mass - d, mass + d
            if pol != "llama.cpp":
                lo = max(lo, 2.0**-1074)
                hi = min(hi, 1.0 if pol == "paper" else 1.0 - 2.0**-53)
            return [{"mass": lo}, {"mass": hi}]
        # mirostat: the kept count moves with mu, the draw with u
        if not math.isfinite(b["logp"]) or not math.isfinite(b["cum"]):
            return None
        mu = params["mu"]
        if name == "mirostat-v2":
            dmu = b["logp"] / _LN2
        else:
            s_hat, k_hat = ref.extras.get("s_hat"), ref.extras.get("k_hat")
            mm = min(int(params["m"]), st.n)
            if k_hat is None or not math.isfinite(k_hat) or mm < 2:
                dmu = 0.0  # a flat or one-token head: the fit is degenerate and nothing is cut
            else:
                t = np.log(np.arange(2, mm + 1) / np.arange(1, mm))
                if not (s_hat and s_hat > 0):
                    return None
                eps_s = 2 * b["logp"] * float(t.sum()) / (s_hat * float((t * t).sum())) + 2 * (b["sum"] + 4 * u)
                if eps_s >= 0.5:
                    return None
                L = abs(math.log(max(k_hat, 1e-300)))
                dmu = (L * eps_s / (1 - eps_s) * s_hat + 2 * b["logp"]) / _LN2
        pk = float(np.sum(np.exp(st.values[: ref.k] / st.tau - st.values[0] / st.tau)) / np.sum(np.exp(st.values / st.tau - st.values[0] / st.tau)))
        du = 2 * (b["cum"] + b["underflow"]) / pk
        ulo, uhi = max(params["u"] - du, 0.0), min(params["u"] + du, 1.0 - 2.0**-53)
        return [{"mu": mu + a, "u": w} for a in (-dmu, dmu) for w in (ulo, uhi)]

    def _flip_counts(self, st, row, ref, b, options) -> set[int] | None:
        """p-less: every count whose kept tokens have ``p_i - threshold >= -bound`` and whose dropped
        ones ``<= bound`` (exact gaps from the 30-digit probabilities), on exact-tie blocks."""
        if st.dyadic() or st.n <= 1:
            return {ref.k}
        if not math.isfinite(b["prob"]):
            return None
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            p = [p[int(i)] for i in st.order]
            s2 = mpmath.fsum(x * x for x in p)
            V = st.size
            thr = p_less.threshold(s2, V, self.name == "p-less-norm")
            gaps = np.array([float(x - thr) for x in p])
        scale = float(s2) * p_less.threshold_scale(V, self.name == "p-less-norm")
        bound = (3 * b["prob"] + b["sum"] + 4 * tolerances.unit_roundoff(st.dtype, options.accumulate)) * 1.01 * scale + b["underflow"]
        counts = {ref.k}
        for c in st.blocks():
            c = int(c)
            if np.all(gaps[:c] >= -bound) and np.all(gaps[c:] <= bound):
                counts.add(max(c, 1))
        return counts

    def admissible(self, st, row, params, ref, b, options) -> tuple[set[int] | None, list[rt.TruncationResult]]:
        """Admissible kept counts (``None`` = no claim) and the reference results at the band edges."""
        if self.name in ("p-less", "p-less-norm"):
            return self._flip_counts(st, row, ref, b, options), []
        if self.name == "top-k":
            return self._top_k_counts(st, params, ref, options), []
        band = self._band(st, row, params, ref, b, options)
        if band is None:
            return None, []
        refs = [ref]
        for override in band:
            try:
                refs.append(self._truncate(row, params, options.policy, **override))
            except ValueError:  # an edge outside the policy's domain: the other edge stands
                continue
        ks = {r.k for r in refs}
        lo, hi = min(ks), max(ks)
        if self.name == "typical" and options.policy == "transformers":
            hi = max(hi, self._typical_tie_reach(st, row, refs, b))
        if self.name in _THRESHOLD:
            ends = st.blocks()
            ks |= {int(e) for e in ends if lo < e < hi}
        else:
            ks = set(range(lo, hi + 1))
        return ks, refs

    def _top_k_counts(self, st, params, ref, options) -> set[int]:
        if options.policy != "transformers" or st.tau == 1.0:
            return {ref.k}
        # z / tau may round two close logits onto one value, which transformers then keeps as a tie
        u = tolerances.unit_roundoff(st.dtype, options.accumulate)
        kk = min(max(int(params["k"]), int(params["min_tokens_to_keep"])), st.size)
        if kk > st.n:
            return {ref.k}
        x = st.values / st.tau
        tol = 2 * u * st.X
        return set(range(int(np.count_nonzero(x > x[kk - 1] + tol)), int(np.count_nonzero(x >= x[kk - 1] - tol)) + 1)) | {ref.k}

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        mask, token, mu = value if self.mirostat else (value, None, None)
        st = _Stats(row, params["temperature"])
        st.dtype = dtype
        b = self.bounds(st, row, dtype, options)
        kept = {int(i) for i in np.flatnonzero(mask)}
        counts, edge_refs = self.admissible(st, row, params, ref, b, options)
        details = {
            "policy": options.policy,
            "expected_k": ref.k,
            "expected_kept": [int(i) for i in ref.kept][:64],
            "got_k": len(kept),
            "got_kept": sorted(kept)[:64],
            "admissible_k": None if counts is None else sorted(counts)[:16],
            "margin": ref.margin if math.isfinite(ref.margin) else None,
            "bounds": {k: v for k, v in b.items() if math.isfinite(v)},
        }
        alt = counts is None or len(counts) > 1
        base = dict(certified=ref.certified, severity=1.0 if alt else 0.0, details=details)
        masked = sorted(kept - set(int(i) for i in st.order))
        if masked:
            return Verdict("fail", f"kept masked token(s) {masked[:5]} (logit -inf, probability 0)", "kept-masked", **dict(base, severity=math.inf))
        if not kept:
            return Verdict("fail", f"kept no token at all ({self.name} keeps at least one)", "bad-output", **dict(base, severity=math.inf))
        k = len(kept)
        if self.name == "typical":
            shape = self._typical_members(st, row, ref, b, kept, edge_refs)
        else:
            shape = self._top_members(st, b, kept, dtype, options)
        if shape is not None:
            return self._fail(row, params, ref, kept, options, shape, "not-a-prefix", base)
        same = kept == set(int(i) for i in ref.kept)
        if counts is not None and k not in counts:
            why = f"kept {k} token(s) where the reference keeps {ref.k} ({options.policy} policy; admissible counts inside the {dtype} error bound: {sorted(counts)[:8]})"
            return self._fail(row, params, ref, kept, options, why, "wrong-kept-set", base)
        if k == ref.k and not same and options.strict_ties and self.name != "typical":
            if all(st.values[j] == st.values[ref.k - 1] for j in range(st.n) if int(st.order[j]) in kept ^ set(ref.kept)):
                return Verdict("fail", f"kept the right count {k} but broke a tie against token id order (expected {list(ref.kept)[:8]})", "tie-order", **base)
        if self.mirostat:
            v = self._judge_state(st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base)
            if v is not None:
                return v
        if same and (not self.mirostat or token == ref.token):
            return Verdict("pass", "", **base)
        return Verdict("admissible", f"kept {k} token(s) where the reference keeps {ref.k}: a comparison inside the {dtype} error bound went the other way", **base)

    def member_tolerance(self, st, b, dtype, options) -> float:
        """How far (in raw logits) a kept token's logit may lie below a dropped one's: near-ties
        within it may swap (0 where the comparisons are exact)."""
        if self.name == "top-k":
            return 0.0 if st.tau == 1.0 else 2 * tolerances.unit_roundoff(dtype, options.accumulate) * st.X * st.tau
        return 0.0 if (self.name in _RATIONAL and st.dyadic()) else (b["logit"] * st.tau if math.isfinite(b["logit"]) else math.inf)

    def _top_members(self, st, b, kept, dtype, options) -> str | None:
        """None when ``kept`` is the ``|kept|`` most probable tokens up to ties and near-ties."""
        k = len(kept)
        if k > st.n:
            return None  # masked tokens already refused
        tol = self.member_tolerance(st, b, dtype, options)
        vk = st.values[k - 1]
        must = {int(st.order[j]) for j in range(st.n) if st.values[j] > vk + tol}
        may = {int(st.order[j]) for j in range(st.n) if st.values[j] >= vk - tol}
        if must <= kept <= may:
            return None
        return f"kept set is not the {k} most probable tokens: expected the top-{k} prefix {[int(i) for i in st.order[:k]][:8]}"

    def _typical_scores(self, st, row) -> dict[int, float]:
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            H = reference.entropy(row, st.tau)
            return {int(i): float(abs(-mpmath.log(p[int(i)]) - H)) for i in st.order}

    def _typical_tie_reach(self, st, row, refs, b) -> int:
        """transformers keeps every token whose score ties the boundary's: near-ties count too."""
        if st.dyadic() or not math.isfinite(b["logp"]):
            return max(r.k for r in refs)
        score = self._typical_scores(st, row)
        tol = 2 * (b["logp"] + b["entropy"])
        worst = max(max(score[int(i)] for i in r.kept) for r in refs)
        return sum(1 for v in score.values() if v <= worst + tol)

    def _typical_members(self, st, row, ref, b, kept, edge_refs) -> str | None:
        """Typical keeps a prefix of the order by |-ln p_i - H|: near-ties in that score may swap."""
        if not math.isfinite(b["logp"]) or not math.isfinite(b["entropy"]):
            return None
        score = self._typical_scores(st, row)
        tol = 0.0 if st.dyadic() else 2 * (b["logp"] + b["entropy"])
        worst_kept = max(score[i] for i in kept)
        dropped = [score[i] for i in score if i not in kept]
        if not dropped or min(dropped) >= worst_kept - tol:
            return None
        return f"kept set is not a prefix of the typicality order |-ln p - H| (expected {list(ref.extras.get('order', ref.kept))[:8]} first)"

    def _judge_state(self, st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base) -> Verdict | None:
        """The chosen token must be the inverse-CDF draw of the kept set, and the new mu follow."""
        k = len(kept)
        if token not in kept:
            return Verdict("fail", f"chose token {token}, which is not in its own kept set", "wrong-token", **base)
        pos = {int(t): j for j, t in enumerate(st.order)}
        candidates = [r for r in edge_refs if r.k == k] or ([ref] if k == ref.k else [])
        if counts is None:
            ok_token = True
        else:
            positions = {pos[int(r.token)] for r in edge_refs + [ref] if r.k == k}
            ok_token = bool(positions) and min(positions) <= pos[token] <= max(positions)
        if not ok_token:
            expected = sorted({int(r.token) for r in edge_refs + [ref] if r.k == k})
            why = f"chose token {token}; the inverse CDF at u = {params['u']!r} over the {k} kept token(s) gives {expected[:4] or [ref.token]}"
            return self._fail(row, params, ref, kept, options, why, "wrong-token", base)
        # expected new mu for this token and kept set, from the exact probabilities
        renorm = options.policy == "llama.cpp"
        if token == ref.token and k == ref.k:
            with mpmath.workdps(30):
                expected = ref.mu
                surprise = ref.surprise
        else:
            with mpmath.workdps(30):
                p = reference.softmax(row, st.tau)
                denom = mpmath.fsum(p[i] for i in kept) if renorm else mpmath.mpf(1)
                surprise = -mpmath.log(p[token] / denom, 2)
                expected = mpmath.mpf(params["mu"]) - params["eta"] * (surprise - params["tau"])
        rho = tolerances.temperature_rtol(dtype)
        s_err = (b["logp"] + (b["cum"] if renorm else 0.0)) / _LN2
        tol = rho * (abs(params["mu"]) + params["eta"] * (abs(float(surprise)) + params["tau"])) + params["eta"] * s_err
        err = abs(float(mu) - float(expected))
        base["details"].update(expected_mu=float(expected), got_mu=mu, mu_tolerance=tol, expected_token=int(ref.token), got_token=token)
        if math.isfinite(tol) and err > tol:
            fault, why = self._diagnose_mu(row, st, params, kept, token, mu, tol, options)
            msg = f"new mu {mu!r} where the exact update gives {mpmath.nstr(expected, 17)} (tolerance {tol:.3g}, {dtype})"
            if why:
                msg += ". Diagnosis: " + why
            return Verdict("fail", msg, fault, **dict(base, severity=err / tol if tol > 0 else math.inf))
        return None

    # ---- diagnosis ------------------------------------------------------------------------------
    def _diagnose_mu(self, row, st, params, kept, token, mu, tol, options) -> tuple[str, str]:
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            full = -mpmath.log(p[token], 2)
            renorm = -mpmath.log(p[token] / mpmath.fsum(p[i] for i in kept), 2)
            upd = lambda s: float(mirostat.mu_update(mpmath.mpf(params["mu"]), params["eta"], s, params["tau"]))  # noqa: E731
            if options.policy == "llama.cpp" and abs(mu - upd(full)) <= tol:
                return "surprise-untruncated", "the surprise is taken under the untruncated distribution; llama.cpp renormalises over the kept set"
            if options.policy != "llama.cpp" and abs(mu - upd(renorm)) <= tol:
                return "surprise-renormalised", "the surprise is taken under the renormalised kept set; the paper uses the untruncated distribution"
            nats = (renorm if options.policy == "llama.cpp" else full) * mpmath.log(2)
            if abs(mu - upd(nats)) <= tol:
                return "surprise-in-nats", "the surprise is in nats; mirostat measures it in bits (-log2 p)"
        return "wrong-mu", ""

    MISREADINGS = {
        "ties-dropped": "ties at the k-th value dropped; transformers keeps every token tied with the k-th",
        "ties-kept": "every token tied with the k-th kept; this policy keeps exactly k",
        "crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it",
        "strict-comparison": "'>' used instead of '>=': a token exactly at the threshold must be kept",
        "non-strict-comparison": "'>=' used instead of '>': a token exactly at the threshold must be dropped under this policy",
        "sample-std": "sigma is the sample standard deviation (divide by N - 1); this policy uses the population one (divide by N)",
        "population-std": "sigma is the population standard deviation; the sample-std policy divides by N - 1",
        "v-finite-only": "V counts only the finite entries; p-less-norm's V is the row length, masked entries included",
        "min-keep-ignored": "min_tokens_to_keep is not applied",
    }

    def _fail(self, row, params, ref, kept, options, message, default_fault, base) -> Verdict:
        found = self._diagnose(row, params, ref, kept, options)
        fault = found[0] if found else default_fault
        if found:
            message += ". Diagnosis: " + "; ".join(f"{f}: {self.MISREADINGS[f]}" for f in found)
            base["details"]["diagnosis"] = found
        return Verdict("fail", message, fault, **dict(base, severity=math.inf))

    def _diagnose(self, row, params, ref, kept, options) -> list[str]:
        """Known misreadings that reproduce the port's kept set exactly (best effort)."""
        found: list[str] = []
        name, pol = self.name, options.policy
        ref_set = set(int(i) for i in ref.kept)
        st = _Stats(row, params["temperature"])
        try:
            if name == "top-k":
                if pol == "transformers" and len(kept) < ref.k:
                    found.append("ties-dropped")
                if pol != "transformers" and self._truncate(row, params, "transformers").k == len(kept) > ref.k:
                    found.append("ties-kept")
            elif name == "top-p" and len(kept) == ref.k - 1 and kept < ref_set:
                found.append("crossing-excluded")
            elif name in ("min-p", "epsilon", "eta") and kept < ref_set:
                p = reference.softmax(row, st.tau)
                lost = ref_set - kept
                if name == "min-p":
                    top = max(p)
                    exact = all(p[i] == top * mpmath.mpf(params["min_p"]) or p[i] == top and params["min_p"] == 1.0 for i in lost)
                else:
                    exact = all(p[i] == mpmath.mpf(params["epsilon"]) for i in lost)
                if exact:
                    found.append("strict-comparison")
            elif name in ("epsilon", "eta") and kept > ref_set and pol == "paper":
                if self._truncate(row, params, "transformers").kept and set(self._truncate(row, params, "transformers").kept) == kept:
                    found.append("non-strict-comparison")
            elif name == "top-n-sigma" and params["n"] > 0:
                other = "paper" if pol == "sample-std" else "sample-std"
                if set(int(i) for i in self._truncate(row, params, other).kept) == kept:
                    found.append("population-std" if pol == "sample-std" else "sample-std")
            elif name == "p-less-norm" and st.n < st.size:
                finite = np.asarray(row, dtype=np.float64)[np.isfinite(row)]
                alt = reference.truncate("p-less-norm", finite, st.tau)
                ids = np.flatnonzero(np.isfinite(row))
                if {int(ids[i]) for i in alt.kept} == kept:
                    found.append("v-finite-only")
            if "min_tokens_to_keep" in params and params["min_tokens_to_keep"] > 1 and not found:
                if set(int(i) for i in self._truncate(row, params, pol, min_tokens_to_keep=1).kept) == kept != ref_set:
                    found.append("min-keep-ignored")
        except (ValueError, ZeroDivisionError):  # a diagnosis is best effort; the verdict stands
            pass
        return found


for _name in TRUNCATION_METHODS:
    register_method(Truncation(_name))


def judge_truncation(method: str, logits: Any, params: dict[str, float], output: Any, dtype: str, options: Options = Options()) -> Verdict:
    """Judge one answer of a truncation port (``params`` include ``temperature``).

    >>> judge_truncation("top-p", np.array([2.0, 1.0, 0.0, -1.0]), {"temperature": 1.0, "p": 0.9, "min_tokens_to_keep": 1},
    ...                  np.array([True, True, True, False]), "float16").status
    'pass'
    """
    from .methods import judge

    return judge(method, logits, params, output, dtype, options)
