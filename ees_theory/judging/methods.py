"""The methods a port can be checked for, in a registry keyed by name.

A :class:`Method` knows how to call a port (argument order), read what it returned, ask the
certified reference, and judge the answer:

* **EES** (kept mask): the kept set must be the reference's wherever every decisive comparison's
  per-row band (:func:`ees_theory.errormodel.bands.ees_band`: every value a careful float port in the
  dtype and accumulation mode can compute for ``f(k)``) excludes 0; where a band contains 0 either
  outcome is *admissible*. A comparison whose exact value is 0 (only at ``k = n`` of a row uniform
  over its candidates) lies inside every band: a port that rounds it either way is admissible as
  an *exact tie decided by rounding* (``strict`` makes it a failure), except on two tokens, where
  every float evaluation that rounds ln 2 alike in ``H_2`` and in ``ln k`` is exact and crossing
  there is '<=' (``non-strict``); in bfloat16 a float ``ln k`` (``math.log``) does not round alike
  (``Hbar_2 = 0.996``), so there the crossing is admissible. A kept set that
  differs from the reference only in which of several exactly tied tokens it keeps is admissible
  (``strict_ties`` makes it a failure); tokens whose computed probabilities may swap (near-ties)
  may swap at the boundary. A failure quotes the comparison the port's count asserts that the
  band excludes.
* **EDT / dynatemp** (a temperature): the answer must lie in the row's per-row band
  (:func:`ees_theory.errormodel.bands.edt_band`, :func:`~ees_theory.errormodel.bands.dynatemp_band`):
  every temperature a careful float port in the dtype and accumulation mode can compute, from any
  entropy in the row's :func:`~ees_theory.errormodel.bands.entropy_band` through the formula with one
  rounding per operation, outward-rounded. A row the band cannot be had for is *admissible*
  (counted, not judged). No-ops (``None``) are exact.

A failed case carries a *fault class* and, where a known misreading of the definitions reproduces
the port's answer, a diagnosis naming it. The classic truncation samplers are registered by
:mod:`ees_theory.judging.truncation`; more methods plug in with :func:`register_method`.

>>> sorted(METHODS)[:3], len(METHODS)      # EES, EDT, dynatemp, temperature, quadratic and 14 truncation samplers
(['dynatemp', 'edt', 'ees'], 19)
>>> v = judge("ees", np.array([2.0, 1.0, 0.0]), {"temperature": 1.0}, np.array([True, True, False]), "float64")
>>> v.status, v.fault
('fail', 'crossing-included')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import mpmath
import numpy as np

from .. import reference, tolerances
from ..core.ctx import FLOAT
from ..core.ees import count_first, count_last, first_candidate
from ..core.temperatures import dynatemp_range
from ..core.certify import down, up
from ..core.records import RECORDS
from ..core.records import record as method_record
from ..spec.methods import POLICIES, MethodSpec
from ..errormodel.bands import EESBand, dynatemp_band, edt_band, ees_band, entropy_band
from .outcomes import Grade, Status

__all__ = [
    "Method",
    "Verdict",
    "OutputFault",
    "Options",
    "METHODS",
    "register_method",
    "get_method",
    "judge",
]


class OutputFault(Exception):
    """A port's output that cannot be judged at all: ``fault`` is its class.

    Parameters
    ----------
    fault : str
        The fault class recorded in the verdict (``"bad-output"``, ``"nan"``).
    message : str
        What is wrong, for the report.
    """

    def __init__(self, fault: str, message: str):
        super().__init__(message)
        self.fault = fault
        self.message = message


@dataclass(frozen=True)
class Options:
    """How answers are judged: the accumulation mode assumed for the error bound, the EES rule of
    the reference, the engine policy of a truncation sampler (``paper``, ``transformers``,
    ``llama.cpp``, ``sample-std``; see :mod:`ees_theory.reference.truncation`), whether tie
    order must follow token ids, and whether exact ties decided by rounding fail (``strict``).

    Parameters
    ----------
    accumulate : str
        ``"input"`` (default: the port sums in the input dtype) or ``"float32"``; sets the error
        bound an answer is allowed.
    rule : str
        The EES rule of the reference: ``"first-exclusive"`` (default), ``"first-inclusive"``,
        ``"last"``.
    strict_ties : bool
        Whether tied tokens must be kept in token-id order (default False).
    policy : str
        The engine convention of a truncation sampler: ``"paper"`` (default), ``"transformers"``,
        ``"llama.cpp"`` or ``"sample-std"``.
    strict : bool
        Whether an exact tie decided by rounding fails (default False: admissible).
    bands : str
        ``"styles"`` (default) or ``"rigorous"``: how an answer away from the certified one is graded.
    unsupported : tuple of str
        Parameters the port does not have (default none).
    """

    accumulate: str = "input"
    rule: str = "first-exclusive"
    strict_ties: bool = False
    policy: str = "paper"
    #: an exact tie decided by rounding (a comparison whose exact value is 0, which a float port
    #: may put on either side) fails instead of counting as admissible
    strict: bool = False
    #: how an answer away from the certified one is graded: ``styles`` (admissible only when a
    #: careful implementation in the style set produces it, ``ees_theory.errormodel.styles``; inside the rigorous
    #: band otherwise it is *suspect* and fails) or ``rigorous`` (anything inside the rigorous
    #: band is admissible, suspect answers included)
    bands: str = "styles"
    #: parameters the port does not have (``ees_theory.running.capabilities``): cases that need
    #: them at a value other than "off" are skipped, and the port is called without them
    unsupported: tuple[str, ...] = ()


#: The command-line flag of every :class:`Options` field, in the order a repro line writes them.
#: ``ees-theory check`` declares its judging flags from this table (a field's default is the one
#: above) and :func:`~ees_theory.running.runner.repro_line` writes the fields that differ from it,
#: so a flag is named in one place. The argparse destination of each flag is the field's name.
OPTION_FLAGS: tuple[tuple[str, str], ...] = (
    ("accumulate", "--accumulate"),
    ("rule", "--rule"),
    ("policy", "--policy"),
    ("strict_ties", "--strict-ties"),
    ("strict", "--strict"),
    ("bands", "--bands"),
    ("unsupported", "--unsupported"),
)


@dataclass
class Verdict:
    """The judgement of one case: ``status`` is ``pass``, ``admissible`` or ``fail``.

    ``fault`` names the fault class of a failure; ``severity`` orders cases by how close they came
    (EES: bound / margin; temperatures: error / tolerance); ``details`` is JSON-ready.

    Parameters
    ----------
    status : Status
        ``"pass"``, ``"admissible"``, ``"fail"``, ``"skipped"`` or ``"tested"``.
    message : str
        What was found, for the report (default empty).
    fault : str or None
        The fault class of a failure (``"wrong-k"``, ``"raised"``, ``"timeout"``, ...); ``None`` otherwise.
    certified : bool
        Whether the reference's answer was certified (default True).
    severity : float
        How close the case came; larger is worse (``inf`` for a call that gave no answer).
    details : dict
        JSON-ready specifics (the expected and returned values, the bound, ...).
    """

    status: Status
    message: str = ""
    fault: str | None = None
    certified: bool = True
    severity: float = 0.0
    details: dict = field(default_factory=dict)


def to_numpy(raw: Any) -> Any:
    """A port's answer as numpy when it is a torch tensor (bfloat16 widened to float32), else as is."""
    if hasattr(raw, "detach") and hasattr(raw, "cpu"):  # a torch tensor, without importing torch
        t = raw.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return raw


def param_grids(rec) -> dict[str, tuple]:
    """A record's parameter grids (the values generated cases draw, in the record's order)."""
    return {p: prm.grid for p, prm in rec.params.items()}


class Method:
    """Base class: subclasses define the parameters, the reference call and the judgement."""

    name: str = ""
    #: positional parameters after the logits, in the order a port receives them
    params: tuple[str, ...] = ()
    #: parameter grid for generated cases
    grid: dict[str, tuple[float, ...]] = {}
    #: the parameter that sharpens or flattens the row (generated cases draw it cold now and then)
    temperature_param: str = "temperature"
    #: the method's record (:data:`~ees_theory.core.records.RECORDS`: its output form, policies,
    #: options); a method built on another (a subclass) reads as that one unless it sets its own
    record: MethodSpec | None = None
    #: the policies the method is judged under (``None``: the engine conventions of
    #: :data:`~ees_theory.spec.methods.POLICIES`, which the method itself may not read)
    policies: tuple[str, ...] | None = None

    def __init_subclass__(cls, **kw: Any) -> None:
        # a method named in the records reads its parameters, grid and temperature parameter from
        # its record (written once there); a class states only what it sets differently
        super().__init_subclass__(**kw)
        own = cls.__dict__
        if "name" not in own or "record" in own or cls.name not in RECORDS:
            return
        cls.record = method_record(cls.name)
        if "params" not in own:
            cls.params = tuple(cls.record.params)
        if "grid" not in own:
            cls.grid = param_grids(cls.record)
        if "temperature_param" not in own:
            cls.temperature_param = cls.record.temperature_param

    def check_policy(self, policy: str) -> str:
        """``policy``, if this method has it (a ValueError naming the ones it has otherwise).

        Parameters
        ----------
        policy : str
            An engine convention: one of :data:`~ees_theory.spec.methods.POLICIES` (``"paper"``,
            ``"transformers"``, ``"llama.cpp"``, ``"sample-std"``), or of the method's own
            ``policies`` where it sets them (dynatemp adds ``"finite-candidates"``).

        Returns
        -------
        str
            ``policy`` itself.

        Raises
        ------
        ValueError
            The method has no policy of that name.
        """
        allowed = POLICIES if self.policies is None else self.policies
        if policy not in allowed:
            raise ValueError(f"policy {policy!r} is not defined for {self.name}; it has: {', '.join(allowed)}")
        return policy

    def draw_params(self, rng: np.random.Generator) -> dict[str, float]:
        """Parameters for a generated case.

        Parameters
        ----------
        rng : numpy.random.Generator
            The generator of the run (seeded), from which each value is drawn.

        Returns
        -------
        dict
            ``{name: value}`` for every name of :attr:`params`, each drawn from its :attr:`grid`,
            as a float (whole-number parameters too; ``ees_theory.core.records.port_params``
            makes them ints for the port).
        """
        return {p: float(rng.choice(self.grid[p])) for p in self.params}

    def call(self, fn: Callable, row: np.ndarray, params: dict[str, float]) -> Any:
        """Call a one-row port: ``fn(row, *values)``, the values in the order of :attr:`params`.

        Parameters
        ----------
        fn : callable
            The port's one-row function.
        row : numpy.ndarray
            The logits, 1-D, in the port's numpy type for the case's dtype (``bfloat16`` rows as
            float32); the port must not write to it.
        params : dict
            ``{name: value}`` holding every name of :attr:`params`.

        Returns
        -------
        object
            What the port returned, unread (:meth:`normalize` reads it).
        """
        return fn(row, *(params[p] for p in self.params))

    def call_batched(self, fn: Callable, rows: np.ndarray, params: list[dict[str, float]]) -> Any:
        """Call a batched port: each parameter becomes a float64 array with one entry per row.

        Parameters
        ----------
        fn : callable
            The port's batched function.
        rows : numpy.ndarray
            The rows stacked, 2-D (one row per case, all of one length), in the port's numpy type.
        params : list of dict
            One ``{name: value}`` per row, in the order of ``rows``, each holding every name of
            :attr:`params`.

        Returns
        -------
        object
            What the port returned for the whole batch, unread (:meth:`split_batched` splits it).
        """
        cols = [np.array([p[name] for p in params], dtype=np.float64) for name in self.params]
        return fn(rows, *cols)

    def split_batched(self, raw: Any, count: int) -> list[Any]:
        """Split a batched output into per-row outputs.

        Parameters
        ----------
        raw : object
            What the batched port returned: an array (a torch tensor is accepted), a list or a
            tuple with one entry per row.
        count : int
            The number of rows the port was given.

        Returns
        -------
        list
            ``count`` per-row outputs, each for :meth:`normalize`.

        Raises
        ------
        OutputFault
            ``bad-output``: not an array or list, or not ``count`` entries.
        """
        raw = to_numpy(raw)
        if isinstance(raw, (list, tuple)) or isinstance(raw, np.ndarray):
            if len(raw) != count:
                raise OutputFault("bad-output", f"batched output has {len(raw)} rows, expected {count}")
            return list(raw)
        raise OutputFault("bad-output", f"batched output must be an array or a list, got {type(raw).__name__}")

    def normalize(self, raw: Any, vocab: int) -> Any:  # pragma: no cover - abstract
        """A port's answer read into the method's normalised output (what :meth:`judge` takes).

        Parameters
        ----------
        raw : object
            What the port returned for one row (a torch tensor is accepted).
        vocab : int
            The length of the row the port was given (a mask must have that shape).

        Returns
        -------
        object
            The normalised output: a boolean mask of length ``vocab`` for a kept-set method, a
            float (or ``None`` for a no-op) for a temperature, as the method's form says.

        Raises
        ------
        OutputFault
            An answer that cannot be read (``bad-output``, ``nan``).
        """
        raise NotImplementedError

    def encode(self, value: Any) -> dict:  # pragma: no cover - abstract
        """A normalised output as a JSON object (the JSON Lines protocol answer).

        Parameters
        ----------
        value : object
            An output :meth:`normalize` returned.

        Returns
        -------
        dict
            The answer's JSON object (``{"kept": [...]}``, ``{"temperature": <hex float>}``, ...),
            which :meth:`decode` reads back.
        """
        raise NotImplementedError

    def decode(self, obj: dict, vocab: int) -> Any:  # pragma: no cover - abstract
        """Read a JSON Lines answer into a normalised output (raises :class:`OutputFault`).

        Parameters
        ----------
        obj : dict
            The answer's JSON object, as :meth:`encode` writes it.
        vocab : int
            The length of the row the port was given.

        Returns
        -------
        object
            The normalised output, as :meth:`normalize` returns it.

        Raises
        ------
        OutputFault
            ``bad-output``: a key missing or a value that cannot be read.
        """
        raise NotImplementedError

    def reference(self, row: np.ndarray, params: dict[str, float], options: Options) -> Any:  # pragma: no cover
        """The certified reference's answer for one case.

        Parameters
        ----------
        row : numpy.ndarray
            The logits the port was given, 1-D (exact values of the case's dtype).
        params : dict
            ``{name: value}`` holding every name of :attr:`params`.
        options : Options
            The run's options; the reference reads the EES ``rule`` or the engine ``policy``.

        Returns
        -------
        object
            The reference result: an :class:`~ees_theory.reference.EESResult` (EES), the exact
            temperature (``None``: a no-op), or a truncation result, as the method's form says.

        Raises
        ------
        ValueError
            A row or parameter outside the method's domain (the case is skipped, not judged).
        """
        raise NotImplementedError

    def expected_json(self, ref: Any) -> dict:  # pragma: no cover - abstract
        """The reference's answer as the JSON object a golden vector stores.

        Parameters
        ----------
        ref : object
            What :meth:`reference` returned.

        Returns
        -------
        dict
            The expected answer (``"kept"``, ``"k"``, ``"temperature"``, ...); a run compares it
            with the stored one to find a stale vector.
        """
        raise NotImplementedError

    def judge(self, row: np.ndarray, params: dict[str, float], ref: Any, value: Any, dtype: str, options: Options) -> Verdict:  # pragma: no cover
        """Judge a port's answer against the reference's.

        Parameters
        ----------
        row : numpy.ndarray
            The logits the port was given, 1-D (exact values of ``dtype``).
        params : dict
            ``{name: value}`` holding every name of :attr:`params`.
        ref : object
            What :meth:`reference` returned for ``row`` and ``params``.
        value : object
            The port's answer, as :meth:`normalize` returned it.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``: the format whose error
            bound the answer is allowed.
        options : Options
            How to judge.

        Returns
        -------
        Verdict
            ``"pass"``, ``"admissible"`` or ``"fail"``, with the fault class of a failure.
        """
        raise NotImplementedError

    def judge_fault(self, ref: Any, fault: str, message: str, dtype: str) -> Verdict:
        """The verdict on a call that produced no answer (raised, timed out, ...): a failure.

        Parameters
        ----------
        ref : object
            What :meth:`reference` returned for the case (a method may excuse a refusal by it).
        fault : str
            The fault class of the call (``"raised"``, ``"timeout"``, ``"crashed"``,
            ``"mutated-input"``, ``"bad-output"``, ``"nan"``, ...).
        message : str
            What happened, for the report.
        dtype : str
            ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.

        Returns
        -------
        Verdict
            A failure with ``fault`` and infinite severity (a temperature method admits a refusal
            where the exact temperature overflows ``dtype``).
        """
        return Verdict(Status.FAILED, message, fault, severity=math.inf)


METHODS: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Add a method to the registry (its ``name`` is the key ``--method`` takes).

    Parameters
    ----------
    method : Method
        An instance with a non-empty ``name``; a method already registered under that name is
        replaced.

    Returns
    -------
    Method
        ``method`` itself.

    Raises
    ------
    ValueError
        ``method.name`` is empty.

    Examples
    --------
    >>> register_method(Method())
    Traceback (most recent call last):
    ...
    ValueError: a method needs a name
    """
    if not method.name:
        raise ValueError("a method needs a name")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS` (``"ees"``, ``"edt"``, ``"dynatemp"``, ``"top-p"``, ...).

    Returns
    -------
    Method
        The registered instance.

    Raises
    ------
    ValueError
        No method of that name, with the names there are.

    Examples
    --------
    >>> get_method("edt").params
    ('T0', 'theta', 'N')
    """
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(sorted(METHODS))}") from None


#: ln 2 enclosed by two floats (the bits a port's entropy may be in)
_LN2_LO, _LN2_HI = float(down(math.log(2.0))), float(up(math.log(2.0)))


# ----------------------------------------------------------------------------------------------
# EES
# ----------------------------------------------------------------------------------------------


def _gap_bounds(ref: reference.EESResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Certified bounds on ``f(i)`` for ``i = 2..n`` (index ``i - 2``) and which are exactly 0."""
    n = ref.n
    enc = ref.enclosure
    lo = enc.f_lo[1:].copy()
    hi = enc.f_hi[1:].copy()
    t = ref.table
    for k, a, b in zip(t.k, t.f_lo, t.f_hi):
        lo[k - 2] = max(lo[k - 2], a)
        hi[k - 2] = min(hi[k - 2], b)
    exact_zero = np.zeros(n - 1, dtype=bool)
    if ref.row.all_tied:  # f(n) = 0 exactly for a row uniform over its candidates
        exact_zero[-1] = True
        lo[-1] = hi[-1] = 0.0
    return lo, hi, exact_zero


def ees_admissible(ref: reference.EESResult, bound: "float | EESBand") -> set[int]:
    """The kept-set sizes a port may return: with gap error at most ``bound`` (a number), or with
    gaps anywhere in a per-row band (:class:`~ees_theory.errormodel.bands.EESBand`).

    With a number, an exact zero (``f(n)`` of a uniform row) stays binding; a band says itself
    where rounding can move an exact zero (everywhere but the two-token uniform row).

    >>> r = reference.ees([2.0, 1.0, 0.0])
    >>> sorted(ees_admissible(r, 1e-12)), sorted(ees_admissible(r, 1.0))
    ([1], [1, 2, 3])
    >>> from ees_theory.errormodel.bands import ees_band
    >>> sorted(ees_admissible(reference.ees([0.0, 0.0, 0.0]), ees_band([0.0, 0.0, 0.0], 1.0, "float32")))
    [2, 3]
    """
    n, m, rule = ref.n, ref.min_tokens_to_keep, ref.rule
    if n <= m or n == 1 or ref.enclosure is None:
        return {ref.k}
    if isinstance(bound, EESBand):
        blo, bhi = bound.lo[1:], bound.hi[1:]
        can_cross = blo < 0
        can_stay = bhi >= 0
    else:
        lo, hi, zero = _gap_bounds(ref)
        can_cross = (lo - bound < 0) & ~zero
        can_stay = hi + bound >= 0
    return _admissible_counts(can_cross, can_stay, n, m, rule)


def _admissible_counts(can_cross: np.ndarray, can_stay: np.ndarray, n: int, m: int, rule: str) -> set[int]:
    ks: set[int] = set()
    if rule in ("first-exclusive", "first-inclusive"):
        for i in range(first_candidate(m), n + 1):
            if can_cross[i - 2]:
                ks.add(count_first(i, rule, n))
            if not can_stay[i - 2]:
                break
        else:
            ks.add(n)
    else:
        for i in range(n, 1, -1):
            if can_stay[i - 2]:
                ks.add(i)
            if not can_cross[i - 2]:
                break
        else:
            ks.add(1)
        ks = {count_last(k, n, m) for k in ks}
    return ks


def _implied(k: int, n: int, m: int, rule: str) -> list[tuple[int, bool]]:
    """The comparisons a kept count ``k`` asserts under ``rule``: ``(i, crossing)`` means the
    port found ``f(i) < 0`` (crossing) or ``f(i) >= 0``."""
    lo = first_candidate(m)
    if rule == "first-exclusive":
        out = [(i, False) for i in range(lo, min(k, n) + 1)]
        return out + ([(k + 1, True)] if k < n and k + 1 >= lo else [])
    if rule == "first-inclusive":
        return [(i, False) for i in range(lo, min(k, n + 1))] + ([(k, True)] if lo <= k <= n else [])
    out = [(i, True) for i in range(n, max(k, 1), -1)]  # last: every later gap crosses
    return out + ([(k, False)] if k >= 2 else [])


def _first_crossing(values: list, m: int, n: int, strict: bool = True) -> int | None:
    for i in range(first_candidate(m), n + 1):
        v = values[i - 2]
        if (v < 0) if strict else (v <= 0):
            return i
    return None


class EES(Method):
    """Entropy Equilibrium Sampling: the port returns the kept mask of one row."""

    name = "ees"

    def normalize(self, raw: Any, vocab: int) -> np.ndarray:
        raw = to_numpy(raw)
        if raw is None:
            raise OutputFault("bad-output", "returned None, expected a boolean mask of the row's shape")
        if not isinstance(raw, np.ndarray):
            if isinstance(raw, (list, tuple)):
                raw = np.asarray(raw)
            else:
                raise OutputFault("bad-output", f"returned {type(raw).__name__}, expected a numpy boolean mask")
        if raw.shape != (vocab,):
            raise OutputFault("bad-output", f"returned shape {raw.shape}, expected ({vocab},)")
        if raw.dtype.kind == "f" and np.isnan(raw).any():
            raise OutputFault("nan", f"returned a float mask containing NaN at position {int(np.flatnonzero(np.isnan(raw))[0])}")
        if raw.dtype != np.bool_:
            raise OutputFault("bad-output", f"returned dtype {raw.dtype}, expected bool (True = kept)")
        return raw.copy()

    def encode(self, value: np.ndarray) -> dict:
        return {"kept": [int(i) for i in np.flatnonzero(value)]}

    def decode(self, obj: dict, vocab: int) -> np.ndarray:
        if "kept" in obj:
            ids = obj["kept"]
            if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise OutputFault("bad-output", "'kept' must be a list of integer token ids")
            if any(i < 0 or i >= vocab for i in ids):
                raise OutputFault("bad-output", f"'kept' has a token id outside 0..{vocab - 1}")
            if len(set(ids)) != len(ids):
                raise OutputFault("bad-output", "'kept' lists a token id twice")
            mask = np.zeros(vocab, dtype=bool)
            mask[ids] = True
            return mask
        if "mask" in obj:
            mask = obj["mask"]
            if not isinstance(mask, list) or not all(isinstance(b, bool) for b in mask):
                raise OutputFault("bad-output", "'mask' must be a list of booleans")
            return self.normalize(np.array(mask, dtype=bool), vocab)
        raise OutputFault("bad-output", "an EES answer needs 'kept' (token ids) or 'mask'")

    def reference(self, row: np.ndarray, params: dict[str, float], options: Options) -> reference.EESResult:
        return reference.ees(row, params["temperature"], rule=options.rule)

    def expected_json(self, ref: reference.EESResult) -> dict:
        return {
            "k": ref.k,
            "kept": list(ref.kept),
            "certified": ref.certified,
            "margin": float(ref.margin).hex() if math.isfinite(ref.margin) else "inf",
        }

    def bound(self, ref: reference.EESResult, dtype: str, options: Options) -> float:
        """The a-priori error bound on the gap for rows of this size and range (``inf``: none)."""
        v = ref.row.values
        logit_range = float(v[0] - v[-1]) / ref.temperature
        return tolerances.ees_gap_bound(dtype, options.accumulate, ref.n, logit_range)

    def band(self, ref: reference.EESResult, dtype: str, options: Options) -> EESBand | None:
        """The per-row band of every gap (:func:`~ees_theory.errormodel.bands.ees_band`); ``None``
        for a row of one candidate or given as probabilities."""
        if ref.n < 2 or ref.row.kind != "logits":
            return None
        return ees_band(ref.row.values, ref.temperature, dtype, options.accumulate)

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        v = self._judge_rigorous(row, params, ref, value, dtype, options)
        if ref.row.kind != "logits":
            return v
        kept = set(int(i) for i in np.flatnonzero(value))
        return grade_mask(v, "ees", row, params, kept, ref.k, dtype, options, min_tokens_to_keep=ref.min_tokens_to_keep,
                          diagnose=lambda: self.diagnose(ref, len(kept), row, params, options)[1])

    def _judge_rigorous(self, row, params, ref, value, dtype, options) -> Verdict:
        n = ref.n
        values = ref.row.values
        order = ref.row.order
        kept = set(int(i) for i in np.flatnonzero(value))
        band = self.band(ref, dtype, options)
        margin = ref.margin
        pairs = [(band.width(c.k), c.margin) for c in ref.decisions if band is not None and c.k <= n]
        half = [h for h, _ in pairs]
        details = {
            "expected_k": ref.k,
            "expected_kept": list(ref.kept),
            "got_k": len(kept),
            "got_kept": sorted(kept)[:64],
            "margin": margin if math.isfinite(margin) else None,
            "band": max(half) if half else 0.0,
            "bound": max(half) if half else 0.0,  # the same: half the widest band among the deciding gaps
            "n": n,
        }
        # how close the call was: band over margin at each deciding gap (inf: a margin of 0 inside a band)
        severity = max((h / m if m > 0 else (math.inf if h > 0 else 0.0) for h, m in pairs), default=0.0)
        base = dict(certified=ref.certified, severity=severity, details=details)
        candidates = set(order)
        masked = sorted(kept - candidates)
        if masked:
            return Verdict(Status.FAILED, f"kept masked token(s) {masked[:5]} (logit -inf, probability 0)", "kept-masked", **base)
        k = len(kept)
        if k == 0:
            return Verdict(Status.FAILED, "kept no token at all (EES keeps at least one)", "bad-output", **base)
        prefix = set(order[:k])
        if kept != prefix:
            swap = self._swap(ref, band, kept, k)
            if swap is None:
                return Verdict(
                    Status.FAILED,
                    f"kept set is not the {k} most likely tokens: expected the top-{k} prefix {list(order[:k])[:8]}"
                    + (f" (tokens {sorted(prefix - kept)[:5]} are certainly more probable than {sorted(kept - prefix)[:5]}, beyond the {dtype} band)" if band is not None else ""),
                    "not-a-prefix",
                    **base,
                )
            if swap == "exact" and options.strict_ties and k == ref.k:
                return Verdict(Status.FAILED, f"kept the right count {k} but broke a tie against token id order (expected {list(ref.kept)[:8]})", "tie-order", **base)
        else:
            swap = None
        if k == ref.k:
            if swap is None:
                return Verdict(Status.PASSED, "", **base)
            details["category"] = "tie-order" if swap == "exact" else "near-tie"
            if swap == "exact":
                return Verdict(Status.ADMISSIBLE, f"kept {k} as the reference; a tie of equal logits at the boundary was broken in another order", **base)
            return Verdict(Status.ADMISSIBLE, f"kept {k} as the reference; tokens whose probabilities differ by less than the {dtype} band swapped at the boundary", **base)
        admissible = ees_admissible(ref, band if band is not None else self.bound(ref, dtype, options))
        details["admissible_k"] = sorted(admissible)[:16]
        if k in admissible:
            exact_only = band is not None and ref.row.all_tied and k not in ees_admissible(ref, 0.0)
            if exact_only:
                details["category"] = "exact-tie"
                msg = (
                    f"exact tie decided by rounding: f({n}) = 0 exactly on this row (uniform over its {n} candidates: "
                    f"Hbar_{n} = 1 = P_{n}); the port's {dtype} evaluation rounded it below 0 and dropped one of {n} tied tokens. "
                    f"An exact evaluation keeps all {n}; treat it as rounding unless the port uses '<=' (then it also drops one of "
                    f"two tied tokens, which is exact in every dtype but bfloat16). --strict makes this a failure"
                )
                if options.strict:
                    return Verdict(Status.FAILED, msg.replace("exact tie decided by rounding: ", "", 1).replace("; treat it as rounding", " (--strict); a port that keeps all is right; treat it as rounding"), "exact-tie", **base)
                return Verdict(Status.ADMISSIBLE, msg, **base)
            details["category"] = "band"
            return Verdict(Status.ADMISSIBLE, f"kept {k} where the reference keeps {ref.k}: {self._flipped(ref, band, k, dtype)}", **base)
        fault, why = self.diagnose(ref, k, row, params, options)
        details["diagnosis"] = why
        witness = self._witness(ref, band, k, dtype, options)
        msg = f"kept {k} token(s) where the reference keeps k*={ref.k} (admissible: {sorted(admissible)[:6]}){witness}"
        if why:
            msg += ". Diagnosis: " + "; ".join(why)
        return Verdict(Status.FAILED, msg, fault, **base)

    @staticmethod
    def _swap(ref, band, kept: set, k: int) -> str | None:
        """``"exact"`` when ``kept`` is the top-``k`` set up to tokens tied with the boundary's
        logit, ``"near"`` when up to tokens whose computed probabilities may swap (their weight
        boxes allow every kept token to be at least every dropped one), else ``None``."""
        values, order, n = ref.row.values, ref.row.order, ref.n
        if k > n:
            return None
        b = values[k - 1]
        above = {order[j] for j in range(n) if values[j] > b}
        tied = {order[j] for j in range(n) if values[j] == b}
        if above <= kept <= above | tied:
            return "exact"
        if band is None:
            return None
        pos = {t: j for j, t in enumerate(order)}
        lo = min(band.e_hi[pos[t]] for t in kept)
        dropped = [band.e_lo[j] for j in range(n) if order[j] not in kept]
        return "near" if not dropped or lo >= max(dropped) else None

    @staticmethod
    def _flipped(ref, band, k: int, dtype: str) -> str:
        """Words for an admissible count: the comparison the port decided the other way, inside its band."""
        lo, hi, _ = _gap_bounds(ref)
        for i, crossing in _implied(k, ref.n, ref.min_tokens_to_keep, ref.rule):
            exact_cross, exact_stay = hi[i - 2] < 0, lo[i - 2] >= 0
            if (crossing and not exact_cross) or (not crossing and not exact_stay):
                where = f"; the row's {dtype} band of f({i}) is [{float(band.lo[i - 1]):.6g}, {float(band.hi[i - 1]):.6g}]" if band is not None else ""
                return f"certified f({i}) in [{lo[i - 2]:.6g}, {hi[i - 2]:.6g}], which the port took as {'a crossing' if crossing else 'no crossing'}{where}: a float evaluation may go either way"
        return f"the deciding gap is within the row's {dtype} band"

    @staticmethod
    def _witness(ref, band, k: int, dtype: str, options) -> str:
        """The comparison the port's ``k`` got wrong: one it asserts whose band excludes its answer."""
        lo, hi, _ = _gap_bounds(ref)
        for i, crossing in _implied(k, ref.n, ref.min_tokens_to_keep, ref.rule):
            if band is not None:
                b_lo, b_hi = float(band.lo[i - 1]), float(band.hi[i - 1])
            else:  # no band (a row given as probabilities): the certified enclosure itself
                b_lo, b_hi = lo[i - 2], hi[i - 2]
            wrong = (crossing and b_lo >= 0) or (not crossing and b_hi < 0)
            if wrong:
                claim = f"f({i}) < 0 (a crossing at {i})" if crossing else f"f({i}) >= 0 (no crossing at {i})"
                where = f"; every {dtype} evaluation ({options.accumulate} mode) gives f({i}) in [{b_lo:.6g}, {b_hi:.6g}]" if band is not None else ""
                return f"; its answer needs {claim}, but certified f({i}) is in [{lo[i - 2]:.6g}, {hi[i - 2]:.6g}]{where}"
        return ""

    #: misreadings the harness recognises: fault class -> explanation
    MISREADINGS = {
        "crossing-included": "the crossing token is kept (rule 'first-inclusive': k* = i* instead of i* - 1)",
        "last-crossing": "the last crossing is used instead of the first (rule 'last')",
        "non-strict": "'<=' used instead of '<' (on a two-token uniform row f(2) = 0 exactly in every float evaluation with ln 2 rounded alike, and '<' keeps both)",
        "hbar-ln-vocab": "Hbar normalised by ln V (vocabulary size) instead of ln k",
        "hbar-ln-candidates": "Hbar normalised by ln n (number of candidates) instead of ln k",
        "temperature-ignored": "the temperature is not applied before EES (p = softmax(z), not softmax(z / tau))",
        "keeps-all": "every candidate kept: no crossing was detected (a NaN gap compares false, e.g. from 0*ln 0 of underflowed probabilities)",
        "one-fewer": "one token fewer than the rule keeps: the cut index taken one before the selected crossing (an off-by-one)",
        "one-more": "one token more than the rule keeps: the cut index taken one past the selected crossing (an off-by-one)",
        "entropy-in-bits": "H_k taken in bits (log2) over ln k: Hbar_k = H_k / (ln 2 ln k), not H_k / ln k (use one base for both)",
    }

    def diagnose(self, ref, k: int, row, params, options) -> tuple[str, list[str]]:
        """The misreadings of specification §2 that reproduce ``k`` (explanations, uncertified)."""
        n, m = ref.n, ref.min_tokens_to_keep
        tau = params["temperature"]
        found: list[str] = []
        later: list[str] = []
        try:
            if options.rule == "first-exclusive":
                if reference.ees(row, tau, rule="first-inclusive").k == k:
                    found.append("crossing-included")
                if reference.ees(row, tau, rule="last").k == k:
                    found.append("last-crossing")
            if ref.row.all_tied and n == 2 and m <= 1 and k == 1:
                found.append("non-strict")
            elif k == ref.k - 1:
                found.append("one-fewer")
            elif k == ref.k + 1 and "crossing-included" not in found:
                found.append("one-more")
            if n >= 2 and n <= 20000:
                curve = reference.exact_curve(ref.row, tau, dps=25)
                lnV = mpmath.log(ref.row.size)
                lnn = mpmath.log(n)
                Hs = [r.hbar * mpmath.log(r.k) for r in curve]
                # '<=' for '<': the first gap at or below 0 (a gap within 1e-20 of 0 is an exact zero
                # at these digits) selects the count; more specific than the off-by-one it also is
                tiny = mpmath.mpf(10) ** -20
                i = _first_crossing([0 if abs(r.hbar - r.P) < tiny else r.hbar - r.P for r in curve], m, n, strict=False)
                if k != ref.k and (n if i is None else i - 1) == k and "non-strict" not in found:
                    found.insert(found.index("one-fewer") if "one-fewer" in found else len(found), "non-strict")
                for fault, denom in (("hbar-ln-vocab", lnV), ("hbar-ln-candidates", lnn), ("entropy-in-bits", None)):
                    if denom == 0:
                        continue
                    if fault == "hbar-ln-candidates" and ref.row.size == n:
                        continue  # same as ln V
                    if denom is None:  # H in bits over ln k in nats
                        gaps = [H / (mpmath.log(2) * mpmath.log(r.k)) - r.P for H, r in zip(Hs, curve)]
                    else:
                        gaps = [H / denom - r.P for H, r in zip(Hs, curve)]
                    i = _first_crossing(gaps, m, n)
                    if (n if i is None else i - 1) == k:
                        later.append(fault) if fault == "entropy-in-bits" else found.append(fault)
            if tau != 1.0 and reference.ees(row, 1.0, rule=options.rule).k == k:
                found.append("temperature-ignored")
            if k == n and ref.k < n:
                found.append("keeps-all")
        except (ValueError, ZeroDivisionError):  # a diagnosis is best effort; the verdict stands
            pass
        # entropy in bits raises every Hbar_k, so it also explains a port that keeps everything:
        # named after the plainer readings
        found += later
        fault = found[0] if found else "wrong-kept-set"
        return fault, [f"{f}: {self.MISREADINGS[f]}" for f in found]


# ----------------------------------------------------------------------------------------------
# grades: what careful implementations produce (styles), inside the rigorous band
# ----------------------------------------------------------------------------------------------

#: verdict categories that are exact whatever the arithmetic: no style can refine them
_EXACT_CATEGORIES = ("tie-order", "exact-tie")
#: failures no arithmetic can produce (a masked token kept, no token, a broken state, ...)
_STRUCTURAL_FAULTS = ("kept-masked", "bad-output", "tie-order", "exact-tie", "nan", "raised", "timeout", "crashed", "mutated-input")
#: the faults of a failure no known misreading explained: a style outside the set may still name it
_UNEXPLAINED_FAULTS = ("wrong-kept-set", "not-a-prefix", "keeps-all")


def grade_mask(v: Verdict, method: str, row, params: dict, kept: set, ref_k: int, dtype: str, options: Options, min_tokens_to_keep: int = 1,
               diagnose: Callable[[], list[str]] | None = None, resolution: Callable[[], set[int] | None] | None = None) -> Verdict:
    """Refine a rigorous mask verdict with the styles (``ees_theory.errormodel.styles``): an answer some careful
    implementation produces on this row is *admissible* (whatever the rigorous band says); so is
    one inside the rigorous band that ``resolution`` admits (the kept counts whose deciding
    comparisons lie within two roundings of the compute dtype, ``None`` where the row's deciding
    quantity is below that resolution: a truncation sampler's judge gives it); one only the
    rigorous band allows is *suspect* (a failure unless ``options.bands`` is ``rigorous``); the
    certified answer and exact ties stay as they are."""
    from ..errormodel import styles

    if v.status == Status.PASSED or v.details.get("category") in _EXACT_CATEGORIES or (v.status == Status.FAILED and v.fault in _STRUCTURAL_FAULTS):
        return v
    if not styles.available():
        v.details["grade"] = Grade.RIGOROUS_ONLY
        return v
    outcomes: list = []
    hit, how = None, ""
    try:  # the styles one at a time: most answers a careful port gives are found in the first few
        for o in styles.iter_mask_outcomes(method, np.asarray(row, dtype=np.float64), params, dtype, options.accumulate, options.policy, options.rule, min_tokens_to_keep):
            outcomes.append(o)
            if o.admits(kept):
                hit, how = o, "style"
                break
    except (ValueError, TypeError, RuntimeError, OverflowError):
        pass
    if not outcomes:
        v.details["grade"] = Grade.RIGOROUS_ONLY
        return v
    produced = sorted({len(o.kept) for o in outcomes})
    v.details["style_counts"] = produced[:16]
    v.details["styles_version"] = styles.STYLES_VERSION
    if hit is None:
        hit, how = styles.produced(outcomes, kept)
    k = len(kept)
    if hit is None and "rule" in get_method(method).record.options and "n" in v.details:  # EES: its entropy curve
        n = v.details["n"]
        band = styles.ees_curve_band(outcomes, n, dtype, options.accumulate)
        if band is not None and n > min_tokens_to_keep and k in _admissible_counts(*band, n, min_tokens_to_keep, options.rule):
            hit, how = next((o for o in outcomes if o.ranks_first(kept)), None), "curve"
    if hit is not None:
        details = dict(v.details, category="style", style=hit.style.name, grade=Grade.ADMISSIBLE)
        if how == "style":
            why = f"kept {k} token(s) where the reference keeps {ref_k}: what a careful {dtype} implementation computes on this row ({options.accumulate} mode; style {hit.style.name})"
        elif how == "curve":
            why = (f"kept {k} token(s) where the reference keeps {ref_k}: a sign of f that lies inside the band careful {dtype} "
                   f"implementations compute for f on this row ({options.accumulate} mode; the styles keep {produced[:8]})")
        else:
            why = f"kept {k} token(s) where the reference keeps {ref_k}: between the counts careful {dtype} implementations compute on this row ({produced[:8]}, {options.accumulate} mode)"
        if v.status == Status.FAILED:
            why += f"; outside the rigorous band's model ({v.fault})"
        return Verdict(Status.ADMISSIBLE, why, certified=v.certified, severity=v.severity, details=details)
    if v.status == Status.ADMISSIBLE and resolution is not None:
        try:
            at_resolution: set[int] | None | tuple = resolution()
        except (ValueError, ZeroDivisionError, OverflowError):
            at_resolution = ()
        if at_resolution is None or k in at_resolution:
            details = dict(v.details, category="resolution", grade=Grade.ADMISSIBLE, resolution_k=None if at_resolution is None else sorted(at_resolution)[:16])
            if at_resolution is None:
                why = (f"kept {k} token(s) where the reference keeps {ref_k}: on this row the quantity {method} decides by is smaller than "
                       f"two roundings of the {dtype} arithmetic ({options.accumulate} mode), so every count inside the rigorous band is what some "
                       f"rounding gives (the styles keep {produced[:8]})")
            else:
                why = (f"kept {k} token(s) where the reference keeps {ref_k}: the comparisons that differ lie within two roundings of the "
                       f"{dtype} arithmetic ({options.accumulate} mode) of their threshold, where careful evaluations go either way "
                       f"(counts at that resolution: {sorted(at_resolution)[:8]}; the styles keep {produced[:8]})")
            return Verdict(Status.ADMISSIBLE, why, certified=v.certified, severity=v.severity, details=details)
    if v.status == Status.ADMISSIBLE:
        details = dict(v.details, grade=Grade.SUSPECT)
        why = (
            f"suspect: kept {k} token(s) where the reference keeps {ref_k}; inside the rigorous {dtype} band, but no careful "
            f"implementation in the style set (v{styles.STYLES_VERSION}, {len(outcomes)} styles, {options.accumulate} mode) produces it: "
            f"they keep {produced[:8]}. --bands rigorous accepts it"
        )
        if options.bands == "rigorous":
            return Verdict(Status.ADMISSIBLE, why, certified=v.certified, severity=v.severity, details=details)
        found = []
        if diagnose is not None:  # a known misreading that reproduces the answer names the fault
            try:
                found = diagnose()
            except (ValueError, ZeroDivisionError):
                found = []
        # both named where both reproduce the answer: a misreading and a bfloat16 loop can coincide;
        # "every token kept" only describes the answer, so code that reproduces it comes first
        outside = _outside_diagnosis(method, row, params, kept, dtype, options, min_tokens_to_keep)
        found = list(found)
        found = outside + found if outside and found and found[0].startswith("keeps-all") else found + outside
        if found:
            details["diagnosis"] = found
            why += ". Diagnosis: " + "; ".join(found)
        fault = found[0].split(":")[0] if found else "suspect"
        return Verdict(Status.FAILED, why, fault, certified=v.certified, severity=v.severity, details=details)
    v.details["grade"] = Grade.FAILED
    if v.status == Status.FAILED and v.fault in _UNEXPLAINED_FAULTS:
        add_diagnosis(v, _outside_diagnosis(method, row, params, kept, dtype, options, min_tokens_to_keep), name_fault=True)
    return v


def add_diagnosis(verdict: Verdict, found: list[str], name_fault: bool = False) -> None:
    """Append the diagnoses ``found`` (``"fault: why"`` or a fault name) to a failing verdict's
    message and details; with ``name_fault`` the first one becomes its fault."""
    if not found:
        return
    verdict.message += ". Diagnosis: " + "; ".join(found)
    verdict.details["diagnosis"] = list(verdict.details.get("diagnosis") or []) + list(found)
    if name_fault:
        verdict.fault = found[0].split(":")[0]


#: the diagnosis of a failure in float32 mode that input mode admits (:func:`note_half_storage`)
HALF_STORAGE = "half-precision-storage"


def note_half_storage(m: "Method", row, params, ref, value, dtype: str, options: Options, verdict: Verdict) -> None:
    """A half-precision case failed in ``float32`` mode: when ``input`` mode admits the answer, say
    so. Such a port keeps some values in the input dtype (probabilities a softmax kernel stores in
    bfloat16, running sums written back to a bfloat16 tensor), which float32 mode rules out (every
    step in at least float32) and input mode allows; the port should be judged in input mode. The
    fault class stays."""
    if verdict.status != Status.FAILED or options.accumulate != "float32" or dtype not in ("float16", "bfloat16"):
        return
    try:
        again = m.judge(row, params, ref, value, dtype, replace(options, accumulate="input"))
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return
    if again.status != Status.FAILED:
        add_diagnosis(verdict, [f"{HALF_STORAGE}: the answer of careful code that keeps some values in {dtype} (probabilities stored by the "
                                f"softmax, running sums written to a {dtype} tensor); --accumulate float32 promises every step in at least "
                                f"float32, and under --accumulate input this answer is {again.status}"])


def _outside_diagnosis(method: str, row, params: dict, kept: set, dtype: str, options: Options, min_tokens_to_keep: int) -> list[str]:
    """``["bfloat16-running-sum: ..."]`` (or, for EES in half precision, ``["half-precision-recurrence: ..."]``)
    when a style outside the careful set (sums rounded to bfloat16 at every addition, the paper's
    incremental update carried in the half dtype: :func:`styles.outside_styles <ees_theory.errormodel.styles.outside_styles>`)
    keeps exactly ``kept``; empty otherwise (and in every cell without such styles)."""
    from ..errormodel import styles

    from ..core.truncation.registry import SAMPLERS

    if not styles.outside_styles("mask" if method in SAMPLERS else "ees", dtype, options.accumulate):
        return []
    try:
        for o in styles.iter_mask_outcomes(method, np.asarray(row, dtype=np.float64), params, dtype, options.accumulate, options.policy,
                                           options.rule, min_tokens_to_keep, outside=True):
            if o.admits(kept):
                return [": ".join(styles.outside_name(o.style))]
    except (ValueError, TypeError, RuntimeError, OverflowError):
        pass
    return []


# ----------------------------------------------------------------------------------------------
# temperatures (EDT, dynatemp)
# ----------------------------------------------------------------------------------------------


class _Temperature(Method):
    """Shared reading and interval judgement of a temperature."""

    allows_none = False

    def normalize(self, raw: Any, vocab: int) -> float | None:
        raw = to_numpy(raw)
        if raw is None:
            if self.allows_none:
                return None
            raise OutputFault("bad-output", "returned None, expected a temperature (a float)")
        if isinstance(raw, np.ndarray):
            if raw.size != 1:
                raise OutputFault("bad-output", f"returned an array of shape {raw.shape}, expected one float")
            raw = raw.reshape(())[()]
        if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, (int, float, np.integer, np.floating)):
            raise OutputFault("bad-output", f"returned {type(raw).__name__}, expected a float")
        t = float(raw)
        if math.isnan(t):
            raise OutputFault("nan", "returned NaN for the temperature (a port must never produce NaN: 0*ln 0 = 0 by definition)")
        return t  # inf is judged against the exact value: it is right only past the dtype's range

    @staticmethod
    def _overflows(ref: Any, dtype: str) -> bool:
        big = float(np.finfo(np.float32 if dtype == "bfloat16" else dtype).max)
        return ref is not None and abs(ref) > big

    def _judge_infinite(self, ref: Any, value: float, hi_w: Any, dtype: str, details: dict) -> Verdict:
        big = float(np.finfo(np.float32 if dtype == "bfloat16" else dtype).max)
        if value > 0 and hi_w > big:
            why = "the exact temperature" if self._overflows(ref, dtype) else "the allowed range of the temperature"
            return Verdict(Status.ADMISSIBLE, f"returned inf: {why} reaches past the largest {dtype} number ({big:.6g})", severity=0.0, details=details)
        return Verdict(Status.FAILED, f"returned {value} for the temperature (non-finite) where the reference gives {mpmath.nstr(ref, 12)}", "nan", severity=math.inf, details=details)

    def judge_fault(self, ref: Any, fault: str, message: str, dtype: str) -> Verdict:
        """A port may refuse (raise) where the exact temperature exceeds the dtype's largest
        finite number: no answer in the dtype could be right there."""
        if fault == "raised" and self._overflows(ref, dtype):
            return Verdict(
                Status.ADMISSIBLE,
                f"refused ({message}); the exact temperature {mpmath.nstr(ref, 6)} exceeds the largest {dtype} number",
                severity=0.0,
            )
        return super().judge_fault(ref, fault, message, dtype)

    def encode(self, value: float | None) -> dict:
        return {"temperature": None if value is None else float(value).hex()}

    def decode(self, obj: dict, vocab: int) -> float | None:
        if "temperature" not in obj:
            raise OutputFault("bad-output", "a temperature answer needs 'temperature' (hex float, number or null)")
        t = obj["temperature"]
        if t is None:
            return self.normalize(None, vocab)
        from ..spec.formats import from_hex

        try:
            return self.normalize(from_hex(t), vocab)
        except (TypeError, ValueError) as exc:
            raise OutputFault("bad-output", f"'temperature': {exc}") from None

    def expected_json(self, ref: Any) -> dict:
        if ref is None:
            return {"temperature": None}
        return {"temperature": float(ref).hex(), "decimal": mpmath.nstr(ref, 25)}

    @staticmethod
    def entropy_band(row: np.ndarray, temperature: float, dtype: str, options: Options) -> tuple[float, float] | None:
        """The row's entropy band (what a careful port computes for ``H``); ``None``: no band."""
        try:
            return entropy_band(row, temperature, dtype, options.accumulate)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None

    @staticmethod
    def in_bits(H: tuple[float, float]) -> tuple[float, float]:
        """An entropy band divided by ``ln 2`` (outward): the entropy a port takes in bits."""
        return float(down(H[0] / _LN2_HI)), float(up(H[1] / _LN2_LO))

    def band(self, row: np.ndarray, params: dict, dtype: str, options: Options, entropy: tuple[float, float], **kw: Any) -> tuple[float, float]:  # pragma: no cover
        raise NotImplementedError

    def _judge_band(self, row, params, ref, value, dtype, options, details: dict, needs_entropy: bool = True) -> Verdict:
        """Pass inside the per-row band, fail outside; no band for the row: admissible."""
        H = self.entropy_band(row, 1.0, dtype, options) if needs_entropy else (0.0, 0.0)
        if H is None:
            details.update(expected=float(ref), got=value)
            return Verdict(Status.ADMISSIBLE, f"no per-row band for this row in {dtype}: the answer {value!r} is not judged", severity=0.0, details=details)
        try:
            lo, hi = self.band(row, params, dtype, options, H)
        except (ValueError, OverflowError, ZeroDivisionError):
            lo, hi = -math.inf, math.inf
        details.update(entropy_band=list(H), expected=float(ref), got=value, allowed=[lo, hi])
        if math.isinf(value):
            return self._judge_infinite(ref, value, hi, dtype, details)
        with mpmath.workdps(30):
            err = abs(mpmath.mpf(value) - ref)
            scale = max(mpmath.mpf(hi) - ref, ref - mpmath.mpf(lo))
            severity = float(err / scale) if scale > 0 else (0.0 if err == 0 else math.inf)
        inside = lo <= value <= hi
        envelope = self._style_envelope(row, params, dtype, options, details, float(ref), value) if needs_entropy else None
        if envelope is not None:
            e_lo, e_hi = envelope
            if e_lo <= value <= e_hi:
                if inside:
                    return Verdict(Status.PASSED, "", severity=severity, details=details)
                details["grade"] = Grade.ADMISSIBLE
                return Verdict(Status.ADMISSIBLE, f"temperature {value!r} outside the rigorous band's model but where careful {dtype} implementations land ({e_lo!r} to {e_hi!r})", severity=severity, details=details)
            if inside:
                details["grade"] = Grade.SUSPECT
                why = (
                    f"suspect: temperature {value!r} where the reference gives {mpmath.nstr(ref, 17)}; inside the rigorous {dtype} band "
                    f"[{lo!r}, {hi!r}] but away from every careful implementation in the style set (they land in [{e_lo!r}, {e_hi!r}], "
                    f"{options.accumulate} mode). --bands rigorous accepts it"
                )
                if options.bands == "rigorous":
                    return Verdict(Status.ADMISSIBLE, why, severity=severity, details=details)
                return Verdict(Status.FAILED, why, Grade.SUSPECT, severity=severity, details=details)
        elif inside:
            return Verdict(Status.PASSED, "", severity=severity, details=details)
        return Verdict(
            Status.FAILED,
            f"temperature {value!r} where the reference gives {mpmath.nstr(ref, 17)}; allowed [{lo!r}, {hi!r}] "
            f"({dtype} per-row band, entropy in [{H[0]:.6g}, {H[1]:.6g}])",
            "wrong-temperature",
            severity=severity,
            details=details,
        )

    def _alternative(self, row, params, dtype: str, options: Options, H: tuple[float, float], H_exact: float, why: str, **kw: Any) -> tuple:
        """A wrong formula's band (the formula fed with the entropy band ``H`` of what it reads)
        and its exact value (fed with ``H_exact``): ``(lo, hi, why, centre)``."""
        lo, hi = self.band(row, params, dtype, options, H, **kw)
        try:
            c_lo, c_hi = self.band(row, params, dtype, options, (H_exact, H_exact), **kw)
            centre = 0.5 * (c_lo + c_hi) if math.isfinite(c_lo) and math.isfinite(c_hi) else None
        except (ValueError, OverflowError, ZeroDivisionError):
            centre = None
        return lo, hi, why, centre

    def _add_bfloat16_running_sum(self, alternatives: dict, row, params, dtype: str, options: Options) -> None:
        """The band of a port whose entropy sums round to bfloat16 at every addition (a style
        outside the careful set: :func:`styles.outside_styles <ees_theory.errormodel.styles.outside_styles>`)."""
        from ..errormodel import styles

        if not styles.available() or not styles.outside_styles("entropy", dtype, options.accumulate):
            return
        z = np.asarray(row, dtype=np.float64)
        try:
            Hs = [H for _, H in styles.iter_entropies(z, dtype, options.accumulate, outside=True)]
            if not Hs:
                return
            H_env = styles.entropy_envelope(Hs, dtype, options.accumulate, int(np.isfinite(z).sum()), styles.entropy_sensitivity(z))
            name, why = styles.BFLOAT16_RUNNING_SUM
            alternatives[name] = self._alternative(row, params, dtype, options, H_env, 0.5 * (min(Hs) + max(Hs)), why)
        except (ValueError, TypeError, RuntimeError, OverflowError, ZeroDivisionError):
            return

    def _add_masked_as_zero(self, alternatives: dict, row, params, dtype: str, options: Options, temperature: float = 1.0) -> None:
        """The band of a port whose entropy counts masked (-inf) entries as logits of 0."""
        z = np.asarray(row)
        finite = np.isfinite(z)
        if finite.all() or not finite.any():
            return
        filled = np.where(finite, z, z.dtype.type(0))
        H0 = self.entropy_band(filled, temperature, dtype, options)
        if H0 is not None:
            try:
                alternatives["masked-as-zero"] = self._alternative(
                    row, params, dtype, options, H0, float(reference.entropy(filled, temperature)),
                    "the entropy counts the masked (-inf) entries as logits of 0 (e.g. after masked_fill(-inf -> 0))")
            except (ValueError, OverflowError, ZeroDivisionError):
                return

    def _style_envelope(self, row, params, dtype: str, options: Options, details: dict, exact: float, value: float) -> tuple[float, float] | None:
        """Where careful implementations land on this row: the formula's per-row band
        (:meth:`band`, one rounding per operation) fed with the entropy envelope of the styles
        (:func:`styles.entropy_envelope <ees_theory.errormodel.styles.entropy_envelope>`) instead of the rigorous entropy band; ``None``: no
        styles, or a row that needs no entropy. The exact entropy is in the envelope too: a port
        that computes more precisely than the dtype asks is careful."""
        from ..errormodel import styles

        if not styles.available() or "entropy_band" not in details or "entropy" not in details:
            return None
        entropies = [float(details["entropy"])]
        n_finite = int(np.isfinite(np.asarray(row, dtype=np.float64)).sum())
        sensitivity = styles.entropy_sensitivity(np.asarray(row, dtype=np.float64))
        env = None
        try:  # one style at a time: stop as soon as the answer is inside the envelope so far
            for _, H in styles.iter_entropies(np.asarray(row, dtype=np.float64), dtype, options.accumulate):
                entropies.append(H)
                H_env = styles.entropy_envelope(entropies, dtype, options.accumulate, n_finite, sensitivity)
                try:
                    env = self.band(row, params, dtype, options, H_env)
                except (ValueError, OverflowError, ZeroDivisionError):
                    continue
                if env[0] <= value <= env[1]:
                    break
        except (ValueError, TypeError, RuntimeError, OverflowError):
            pass
        if env is None:
            return None
        details["envelope"] = list(env)
        details["styles_version"] = styles.STYLES_VERSION
        return env

    def _attach_diagnosis(self, verdict, value, alternatives: dict) -> None:
        """Name the fault of a failing answer when it lies in the band of a known wrong formula.
        A *suspect* answer lies inside the right formula's rigorous band too, and in half precision
        a wrong formula's band may hold most of it: there a wrong formula is named only when the
        answer is nearer its exact value than the right one (a bfloat16 loop rounding every addition
        lands away from the careful styles on either side, not where the entropy in bits puts it)."""
        suspect = verdict.details.get("grade") == Grade.SUSPECT
        exact = verdict.details.get("expected")
        found = [
            (fault, why)
            for fault, (lo, hi, why, centre) in alternatives.items()
            if lo <= value <= hi and not (suspect and (centre is None or exact is None or abs(value - centre) >= abs(value - exact)))
        ]
        if found:
            verdict.fault = found[0][0]
            why = [f"{f}: {w}" for f, w in found]
            verdict.message += ". Diagnosis: " + "; ".join(why)
            verdict.details["diagnosis"] = why


class EDT(_Temperature):
    """EDT: the port returns ``T = T0 * N**(theta / H)`` for one row (0 = greedy)."""

    name = "edt"

    def reference(self, row, params, options):
        return reference.edt_temperature(row, params["T0"], params["theta"], params["N"])

    def band(self, row, params, dtype, options, entropy, **kw):
        return edt_band(row, params["T0"], params["theta"], params["N"], dtype, options.accumulate, entropy=entropy)

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        details: dict = {"entropy": float(reference.entropy(row))}
        v = self._judge_band(row, params, ref, value, dtype, options, details, needs_entropy=params["theta"] != 0)
        if v.status == Status.FAILED and params["theta"] != 0:
            H, H_exact = details["entropy_band"], details["entropy"]
            alts = {"entropy-in-bits": self._alternative(row, params, dtype, options, self.in_bits(H), H_exact / math.log(2), "the entropy is taken in bits instead of nats")}
            if params["T0"] != 1.0:
                Ht = self.entropy_band(row, params["T0"], dtype, options)
                if Ht is not None:
                    alts["entropy-of-tempered"] = self._alternative(row, params, dtype, options, Ht, float(reference.entropy(row, params["T0"])),
                                                                    "the entropy of softmax(z / T0) is used instead of the raw softmax(z)")
            self._add_masked_as_zero(alts, row, params, dtype, options)
            self._add_bfloat16_running_sum(alts, row, params, dtype, options)
            self._attach_diagnosis(v, value, alts)
        return v


class Dynatemp(_Temperature):
    """llama.cpp dynatemp: the port returns the temperature, or ``None`` for a no-op row. Under
    the policy ``finite-candidates`` ``ln n`` counts only the finite entries."""

    name = "dynatemp"
    allows_none = True
    policies = method_record("dynatemp").policies

    def reference(self, row, params, options):
        return reference.dynatemp_temperature(row, params["temp"], params["delta"], params["exponent"], policy=options.policy)

    @staticmethod
    def counted(row, policy: str) -> int:
        """The ``n`` of ``ln n`` under ``policy``: every entry, or the finite ones."""
        z = np.asarray(row, dtype=np.float64)
        return int(np.isfinite(z).sum()) if policy == "finite-candidates" else int(z.shape[0])

    def band(self, row, params, dtype, options, entropy, size=None):
        size = self.counted(row, options.policy) if size is None else size
        return dynatemp_band(row, params["temp"], params["delta"], params["exponent"], dtype, options.accumulate, entropy=entropy, size=size)

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        size = int(np.asarray(row).shape[0])
        if ref is None or value is None:
            if ref is None and value is None:
                return Verdict(Status.PASSED, "")
            if ref is None:
                return Verdict(Status.FAILED, f"returned {value!r}, but a row of {size} entry is a no-op (llama.cpp applies no temperature: return None)", "no-op-applied", details={"expected": None, "got": value})
            return Verdict(Status.FAILED, f"returned None (no-op) where the reference applies T = {mpmath.nstr(ref, 12)} (n = {size} entries, -inf ones included)", "wrong-no-op", details={"expected": float(ref), "got": None})
        temp, delta = params["temp"], params["delta"]
        details: dict = {"entropy": float(reference.entropy(row))} if delta > 0 else {}
        v = self._judge_band(row, params, ref, value, dtype, options, details, needs_entropy=delta > 0 and params["exponent"] != 0)
        if v.status == Status.FAILED and delta > 0:
            H, H_exact = details["entropy_band"], details["entropy"]
            n_finite = int(np.isfinite(np.asarray(row, dtype=np.float64)).sum())
            alts = {}
            exponent = params["exponent"]
            t_min, t_max = dynatemp_range(temp, delta, FLOAT)
            if not (t_min <= ref <= t_max) and value in (t_min, t_max):
                alts["clamped"] = (value, value, f"T clamped to [T_min, T_max]; with exponent {exponent} < 0 llama.cpp's T leaves that range", value)
            alts["entropy-in-bits"] = self._alternative(row, params, dtype, options, self.in_bits(H), H_exact / math.log(2), "the entropy is taken in bits but normalised by ln n")
            if 1 < n_finite < size:  # after bits: in half precision the two bands may overlap
                if options.policy == "finite-candidates":
                    alts["n-all-entries"] = self._alternative(row, params, dtype, options, H, H_exact, "n counts every entry, -inf included (llama.cpp); under policy finite-candidates only the finite entries count", size=size)
                else:
                    alts["n-finite-only"] = self._alternative(row, params, dtype, options, H, H_exact, "n counts only the finite entries (run with --policy finite-candidates if that is the port's convention); llama.cpp counts every entry of the candidate array, -inf included", size=n_finite)
            self._add_masked_as_zero(alts, row, params, dtype, options)
            self._add_bfloat16_running_sum(alts, row, params, dtype, options)
            self._attach_diagnosis(v, value, alts)
        return v


register_method(EES())
register_method(EDT())
register_method(Dynatemp())


def judge(method: str, logits: Any, params: dict[str, float], output: Any, dtype: str, options: Options = Options()) -> Verdict:
    """Judge one answer of a port against the certified reference (convenience entry).

    ``logits`` must already be in the dtype's numpy type (exact values); ``output`` is what the port
    returned.

    Parameters
    ----------
    method : str
        A registered method (:func:`get_method`).
    logits : numpy.ndarray
        The row the port was given, 1-D, in ``dtype``.
    params : dict
        ``{name: value}`` for every parameter of the method (its ``params``).
    output : object
        The port's answer: a mask (sequence or array of bools), a temperature, logits, or a
        ``(mask, token, mu)`` triple, as the method's form says; a torch tensor is accepted.
    dtype : str
        ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``: the error bound's format.
    options : Options
        How to judge (default ``Options()``).

    Returns
    -------
    Verdict
        ``"pass"``, ``"admissible"`` or ``"fail"``; an output that cannot be read fails with its
        fault class.

    Raises
    ------
    ValueError
        An unknown method, or a row or parameter the reference refuses.

    Examples
    --------
    >>> judge("edt", np.array([0.0, 0.0]), {"T0": 1.0, "theta": math.log(2), "N": 0.8}, 0.8, "float64").status
    'pass'
    """
    m = get_method(method)
    row = np.asarray(logits)
    try:
        value = m.normalize(output, row.shape[-1])
    except OutputFault as exc:
        return Verdict(Status.FAILED, exc.message, exc.fault)
    ref = m.reference(row, params, options)
    return m.judge(row, params, ref, value, dtype, options)
