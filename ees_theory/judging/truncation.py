"""The truncation samplers (top-k, top-p, min-p, typical, epsilon, eta, p-less, p-less-norm,
top-n-sigma, mirostat v1/v2, xtc, top-a, tfs) as conformance methods, one :class:`Truncation` each.

**Port signature.** ``fn(logits, temperature, **params) -> bool mask`` (True = kept), the
parameters by name as ``PARAMS`` lists them (``k``, ``min_tokens_to_keep`` and ``m`` as ints,
the rest as floats). Mirostat ports also receive the state ``mu`` (bits) and the uniform draw
``u`` and return ``(mask, token, new_mu)``. The engine convention the answer is judged against is
the run's ``policy`` (:class:`~.methods.Options`), the reference's policy of
:func:`ees_theory.reference.truncation.truncate`; a port implements one engine's convention.

**Judgement.** Every comparison a sampler makes is certified by the reference. The error of a
float port is bounded per row by :func:`ees_theory.errormodel.bands.truncation_row_bounds` (the
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
>>> str(v.status), v.fault     # the tied top token has p_i = min_p * p_max exactly: '>=' keeps it
('fail', 'non-strict')
"""

from __future__ import annotations

import math
from typing import Any, Callable

import mpmath
import numpy as np

from .. import reference, spec, tolerances
from ..core.records import INT_PARAMS
from ..core.truncation.registry import SAMPLERS
from ..reference import truncation as rt
from ..errormodel.bands import truncation_row_bounds
from .judges import RowStats
from .judges import get_judge, port_params
from .methods import EES, Method, Options, OutputFault, Verdict, add_diagnosis, to_numpy, grade_mask, register_method
from .outcomes import Status

__all__ = ["Truncation", "TRUNCATION_METHODS", "PARAMS", "INT_PARAMS", "judge_truncation", "port_params"]

#: parameters after ``temperature``, in the order the harness lists them: the specification's
#: parameters that have a grid (``n_vocab`` has none: a port reads the vocabulary size from the row)
PARAMS: dict[str, tuple[str, ...]] = {
    name: tuple(p for p, prm in ms.params.items() if prm.grid) for name, ms in SAMPLERS.items()
}
TRUNCATION_METHODS = tuple(PARAMS)

_TEMPERATURES = (0.5, 0.7, 1.0, 1.0, 1.0, 1.5, 2.0)


class Truncation(Method):
    """One truncation sampler of the reference, judged as the module docstring says.

    Parameters
    ----------
    name : str
        The sampler's name, a key of ``TRUNCATION_METHODS`` (``"top-p"``, ``"min-p"``, ...).

    Raises
    ------
    KeyError
        ``name`` is not a truncation sampler.
    """

    def __init__(self, name: str):
        self.name = name
        self.sampler_params = PARAMS[name]
        self.record = SAMPLERS[name]
        self.params = ("temperature",) + self.sampler_params
        prm = SAMPLERS[name].params
        self.grid = {"temperature": _TEMPERATURES, **{p: prm[p].grid for p in self.sampler_params}}
        #: this sampler's entry in the table of judges
        self.sampler_judge = get_judge(name)
        self.mirostat = self.sampler_judge.stateful

    # ---- calling ports --------------------------------------------------------------------------
    def call(self, fn: Callable, row: np.ndarray, params: dict[str, float]) -> Any:
        """Call a one-row port: ``fn(row, temperature, **params)``, the rest by name.

        Parameters
        ----------
        fn : callable
            The port's one-row function.
        row : numpy.ndarray
            The logits, 1-D, in the port's numpy type for the case's dtype; the port must not
            write to it.
        params : dict
            ``{name: value}``: ``temperature`` and the sampler's parameters the port takes;
            whole-number ones (``k``, ``min_tokens_to_keep``, ``m``) are passed as ints.

        Returns
        -------
        object
            What the port returned, unread (:meth:`normalize` reads it).

        Raises
        ------
        ValueError
            A whole-number parameter that is not a whole number.
        """
        prm = port_params(params)
        return fn(row, prm.pop("temperature"), **prm)

    def call_batched(self, fn: Callable, rows: np.ndarray, params: list[dict[str, float]]) -> Any:
        """Call a batched port: ``fn(rows, temperatures, **columns)``, one array entry per row.

        Parameters
        ----------
        fn : callable
            The port's batched function.
        rows : numpy.ndarray
            The rows stacked, 2-D (one per case, all of one length), in the port's numpy type.
        params : list of dict
            One ``{name: value}`` per row, in the order of ``rows``, all with the same names;
            a name missing from the first (a parameter the port lacks) is not passed.

        Returns
        -------
        object
            What the port returned for the batch, unread (:meth:`split_batched` splits it).
            Whole-number parameters go as int64 arrays, the rest as float64.
        """
        cols = {
            name: np.array([p[name] for p in params], dtype=np.int64 if name in INT_PARAMS else np.float64)
            for name in self.params if name in params[0]  # a parameter the port lacks is not passed
        }
        return fn(rows, cols.pop("temperature"), **cols)

    def split_batched(self, raw: Any, count: int) -> list[Any]:
        """Split a batched output into per-row outputs; a mirostat port's ``(masks, tokens, mus)``
        into one ``(mask, token, mu)`` per row.

        Parameters
        ----------
        raw : object
            What the batched port returned: masks with one row per case (array, list or tensor),
            or for mirostat that triple of per-row arrays.
        count : int
            The number of rows the port was given.

        Returns
        -------
        list
            ``count`` per-row outputs, each for :meth:`normalize`.

        Raises
        ------
        OutputFault
            ``bad-output``: not ``count`` masks.
        """
        if self.mirostat and isinstance(raw, tuple) and len(raw) == 3:  # (masks, tokens, mus)
            masks, tokens, mus = (to_numpy(r) for r in raw)
            return [(m, t, u) for m, t, u in zip(super().split_batched(masks, count), np.asarray(tokens), np.asarray(mus))]
        return super().split_batched(raw, count)

    # ---- reading answers ------------------------------------------------------------------------
    def _mask(self, raw: Any, vocab: int) -> np.ndarray:
        return EES.normalize(self, raw, vocab)

    def normalize(self, raw: Any, vocab: int) -> Any:
        """A port's answer read into a boolean mask, or for mirostat ``(mask, token, mu)``.

        Parameters
        ----------
        raw : object
            What the port returned for one row: a boolean mask (True = kept; a torch tensor is
            accepted), or for mirostat a ``(mask, token, new_mu)`` triple or a dict with
            ``"mask"``, ``"token"`` and ``"mu"``.
        vocab : int
            The length of the row the port was given.

        Returns
        -------
        object
            A copy of the mask, length ``vocab``; for mirostat ``(mask, token, mu)`` with
            ``token`` an int in ``0..vocab-1`` and ``mu`` a finite float.

        Raises
        ------
        OutputFault
            ``bad-output`` or ``nan``: an answer of the wrong type, shape or range.
        """
        if not self.mirostat:
            return self._mask(raw, vocab)
        if isinstance(raw, dict):
            raw = (raw.get("mask"), raw.get("token"), raw.get("mu"))
        if not isinstance(raw, (tuple, list)) or len(raw) != 3:
            raise OutputFault("bad-output", f"a {self.name} port returns (mask, token, new_mu); got {type(raw).__name__}")
        mask = self._mask(raw[0], vocab)
        token, mu = to_numpy(raw[1]), to_numpy(raw[2])
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
        """A normalised output as the JSON Lines answer.

        Parameters
        ----------
        value : object
            An output :meth:`normalize` returned.

        Returns
        -------
        dict
            ``{"kept": [token ids]}``; for mirostat with ``"token"`` and ``"mu"`` (hex float).
        """
        if not self.mirostat:
            return EES.encode(self, value)
        mask, token, mu = value
        return {"kept": [int(i) for i in np.flatnonzero(mask)], "token": int(token), "mu": float(mu).hex()}

    def decode(self, obj: dict, vocab: int) -> Any:
        """Read a JSON Lines answer into a normalised output.

        Parameters
        ----------
        obj : dict
            The answer: ``"kept"`` (token ids) or ``"mask"``; for mirostat also ``"token"`` and
            ``"mu"`` (hex float).
        vocab : int
            The length of the row the port was given.

        Returns
        -------
        object
            The output as :meth:`normalize` returns it.

        Raises
        ------
        OutputFault
            ``bad-output``: a key missing or a value that cannot be read.
        """
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
    def reference(self, row: np.ndarray, params: dict[str, float], options: Options) -> rt.TruncationResult:
        """The certified reference's answer under the run's policy.

        Parameters
        ----------
        row : numpy.ndarray
            The logits the port was given, 1-D (exact values of the case's dtype).
        params : dict
            ``{name: value}``: ``temperature`` and the sampler's parameters.
        options : Options
            The run's options; ``options.policy`` is the engine convention judged against.

        Returns
        -------
        TruncationResult
            The certified kept set (:class:`~ees_theory.reference.truncation.TruncationResult`).

        Raises
        ------
        ValueError
            A row, parameter or policy the sampler does not take.
        """
        return self.sampler_judge.truncate(row, params, options.policy)

    def expected_json(self, ref: rt.TruncationResult) -> dict:
        """The reference's answer as the JSON object a golden vector stores.

        Parameters
        ----------
        ref : TruncationResult
            What :meth:`reference` returned.

        Returns
        -------
        dict
            ``policy``, ``k``, ``kept``, ``certified`` and ``margin`` (hex float or ``"inf"``);
            for mirostat also ``token``, ``mu`` (hex) and ``mu_decimal``.
        """
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

    # ---- the judgement (the sampler's own rules are its judge's, declared in its core module) -------
    def bounds(self, st: RowStats, row: np.ndarray, dtype: str, options: Options) -> dict[str, float]:
        """The error bounds of a float port on this row: the row's own where they can be had,
        else the a-priori table.

        Parameters
        ----------
        st : RowStats
            The row's statistics at the case's temperature (``judging.judges.RowStats``).
        row : numpy.ndarray
            The logits the port was given, 1-D.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        options : Options
            The run's options; ``options.accumulate`` sets the accumulation mode.

        Returns
        -------
        dict
            ``{quantity: bound}`` with the keys of
            :func:`~ees_theory.errormodel.bands.truncation_row_bounds` (``"prob"``, ``"logit"``, ...).
        """
        H = float(reference.entropy(row, st.tau)) if self.sampler_judge.needs_entropy else 0.0
        try:  # this row's bounds (finite in every dtype); the a-priori table where they cannot be had
            return truncation_row_bounds(row, st.tau, dtype, options.accumulate, H)
        except (ValueError, OverflowError, ZeroDivisionError):
            return tolerances.truncation_bounds(dtype, options.accumulate, st.n, st.R, st.X, H)

    def admissible(self, st, row, params, ref, b, options) -> tuple[set[int] | None, list[rt.TruncationResult]]:
        """Admissible kept counts (``None`` = no claim; every count >= 1: a sampler keeps a token)
        and the reference results at the band edges.

        Parameters
        ----------
        st : RowStats
            The row's statistics at the case's temperature.
        row : numpy.ndarray
            The logits the port was given, 1-D.
        params : dict
            ``{name: value}``: ``temperature`` and the sampler's parameters.
        ref : TruncationResult
            What :meth:`reference` returned.
        b : dict
            The error bounds of :meth:`bounds`.
        options : Options
            The run's options (its ``policy``).

        Returns
        -------
        tuple
            ``(counts, refs)``: the set of admissible kept counts, or ``None`` for no claim, and
            the reference results at the edges of the parameter band.
        """
        counts, refs = self.sampler_judge.admissible(st, row, params, ref, b, options)
        return (None if counts is None else {c for c in counts if c >= 1}), refs

    def member_tolerance(self, st, b, dtype, options) -> float:
        """How far (in raw logits) a kept token's logit may lie below a dropped one's.

        Parameters
        ----------
        st : RowStats
            The row's statistics at the case's temperature.
        b : dict
            The error bounds of :meth:`bounds`.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        options : Options
            The run's options.

        Returns
        -------
        float
            The tolerance, ``>= 0`` (0 where the comparisons are exact; ``inf`` where no bound).
        """
        return self.sampler_judge.member_tolerance(st, b, dtype, options)

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        """Judge a port's kept set (and, for mirostat, its token and new ``mu``) against the reference.

        Parameters
        ----------
        row : numpy.ndarray
            The logits the port was given, 1-D (exact values of ``dtype``).
        params : dict
            ``{name: value}``: ``temperature`` and the sampler's parameters.
        ref : TruncationResult
            What :meth:`reference` returned.
        value : object
            The port's answer, as :meth:`normalize` returned it.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        options : Options
            How to judge.

        Returns
        -------
        Verdict
            ``"pass"``, ``"admissible"`` or ``"fail"``, with the fault class of a failure.
        """
        v = self._judge_rigorous(row, params, ref, value, dtype, options)
        if self.mirostat:  # the state check follows the reference's count (see the mirostat judge)
            if v.status == Status.FAILED and v.fault == "wrong-token":
                add_diagnosis(v, _outside_draw_diagnosis(row, params, value, dtype, options), name_fault=True)
            return v
        kept = {int(i) for i in np.flatnonzero(value)}
        return grade_mask(v, self.name, row, params, kept, ref.k, dtype, options,
                          diagnose=lambda: self.sampler_judge.diagnose(row, params, ref, kept, options, dtype),
                          resolution=(lambda: self.resolution_counts(row, params, ref, dtype, options)) if self.sampler_judge.resolution_grade else None)

    def resolution_counts(self, row, params, ref, dtype, options) -> set[int] | None:
        """The kept counts of the sampler's band drawn at the dtype's resolution
        (``SamplerJudge.resolution_bounds`` of ``ees_theory.judging.judges.base``): the answers
        that differ from the exact one only in comparisons within two roundings of the compute
        dtype (``None``: the row's deciding quantity lies below that resolution).

        Parameters
        ----------
        row : numpy.ndarray
            The logits the port was given, 1-D.
        params : dict
            ``{name: value}``: ``temperature`` and the sampler's parameters.
        ref : TruncationResult
            What :meth:`reference` returned.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        options : Options
            The run's options.

        Returns
        -------
        set of int or None
            The admissible counts at the dtype's resolution, or ``None`` (every count).
        """
        st = RowStats(row, params["temperature"])
        st.dtype = dtype
        b = self.sampler_judge.resolution_bounds(st, self.bounds(st, row, dtype, options), ref, options)
        counts, _ = self.admissible(st, row, params, ref, b, options)
        return counts

    def _judge_rigorous(self, row, params, ref, value, dtype, options) -> Verdict:
        mask, token, mu = value if self.mirostat else (value, None, None)
        st = RowStats(row, params["temperature"])
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
            return Verdict(Status.FAILED, f"kept masked token(s) {masked[:5]} (logit -inf, probability 0)", "kept-masked", **dict(base, severity=math.inf))
        if not kept:
            return Verdict(Status.FAILED, f"kept no token at all ({self.name} keeps at least one)", "bad-output", **dict(base, severity=math.inf))
        k = len(kept)
        sj = self.sampler_judge
        shape = sj.members(st, row, ref, b, kept, dtype, options)
        if shape is not None:
            return sj.fail(row, params, ref, kept, options, shape, "not-a-prefix", base, dtype)
        same = kept == set(int(i) for i in ref.kept)
        if counts is not None and k not in counts:
            why = f"kept {k} token(s) where the reference keeps {ref.k} ({options.policy} policy; admissible counts inside the {dtype} error bound: {sorted(counts)[:8]})"
            return sj.fail(row, params, ref, kept, options, why, "wrong-kept-set", base, dtype)
        if k == ref.k and not same and options.strict_ties and sj.tie_order:
            if all(st.values[j] == st.values[ref.k - 1] for j in range(st.n) if int(st.order[j]) in kept ^ set(ref.kept)):
                return Verdict(Status.FAILED, f"kept the right count {k} but broke a tie against token id order (expected {list(ref.kept)[:8]})", "tie-order", **base)
        if self.mirostat:
            v = sj.check_state(st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base)
            if v is not None:
                return v
        if same and (not self.mirostat or token == ref.token):
            return Verdict(Status.PASSED, "", **base)
        return Verdict(Status.ADMISSIBLE, f"kept {k} token(s) where the reference keeps {ref.k}: a comparison inside the {dtype} error bound went the other way", **base)


def _outside_draw_diagnosis(row, params, value, dtype: str, options: Options) -> list[str]:
    """``["bfloat16-running-sum: ..."]`` when a mirostat draw over the port's own kept set, with
    every sum rounded to bfloat16 (:func:`~ees_theory.errormodel.styles.outside_draws`), lands
    on the port's token; empty otherwise."""
    from ..errormodel import styles

    mask, token, _ = value
    z = np.asarray(row, dtype=np.float64)
    kept = np.flatnonzero(mask)
    ranked = kept[np.argsort(-z[kept], kind="stable")]
    try:
        hit = int(token) in styles.outside_draws(z, params["temperature"], ranked.tolist(), params["u"], dtype, options.accumulate)
    except (ValueError, OverflowError, ZeroDivisionError):
        hit = False
    return [": ".join(styles.BFLOAT16_RUNNING_SUM)] if hit else []


for _name in TRUNCATION_METHODS:
    register_method(Truncation(_name))


def judge_truncation(method: str, logits: Any, params: dict[str, float], output: Any, dtype: str, options: Options = Options()) -> Verdict:
    """Judge one answer of a truncation port (``params`` include ``temperature``).

    >>> judge_truncation("top-p", np.array([2.0, 1.0, 0.0, -1.0]), {"temperature": 1.0, "p": 0.9, "min_tokens_to_keep": 1},
    ...                  np.array([True, True, True, False]), "float16").status == Status.PASSED
    True
    """
    from .methods import judge

    return judge(method, logits, params, output, dtype, options)
