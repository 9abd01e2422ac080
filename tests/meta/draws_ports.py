"""Token-level ports for the draws judge's meta-tests: three correct samplers and five mutants.

The kept set of every port comes from the toolkit's float kernels (``ees_theory.torch``), not from
the reference, so a correct sampler here is a real float implementation: near the boundary its
kept set may differ admissibly from the certified one. The samplers:

* ``inverse_cdf``: numpy, float64 probabilities, inverse CDF of a uniform (``searchsorted``);
* ``multinomial``: ``torch.multinomial`` on float32 probabilities (``replacement=True``);
* ``exponential_race``: ``argmax(p / E)`` with ``E ~ Exp(1)`` (vLLM's sampler), float64.

Mutants (all from ``inverse_cdf``): ``untruncated`` (no truncation), ``never_last`` (the least
probable kept token is never drawn), ``off_by_one`` (the inverse CDF returns the next token in
probability order), ``unnormalised`` (inverse CDF over the kept probabilities without
renormalising: the missing mass lands on the last kept token), ``biased`` (3% of draws go to the
second most probable kept token).
"""

from __future__ import annotations

import numpy as np
import torch

from ees_theory import torch as kernels

MIROSTAT = ("mirostat-v1", "mirostat-v2")


def _mask(method: str, z: np.ndarray, t: float, params: dict, dtype: torch.dtype) -> np.ndarray:
    x = torch.from_numpy(np.asarray(z, dtype=np.float64)).to(dtype)
    if method == "ees":
        return kernels.ees_mask(x, t, accumulate="input").numpy()
    return kernels.truncate_mask(method, x, t, accumulate="input", **params).numpy()


def _probs(z: np.ndarray, t: float, mask: np.ndarray) -> np.ndarray:
    x = np.asarray(z, dtype=np.float64) / t
    w = np.where(mask, np.exp(x - x[mask].max()), 0.0)
    return w / w.sum()


def _order(p: np.ndarray) -> np.ndarray:
    """Kept ids, most probable first (ties by id)."""
    kept = np.flatnonzero(p > 0)
    return kept[np.argsort(-p[kept], kind="stable")]


def _mirostat(method, z, t, n, seed, params, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    mu = params.get("mu")
    out = np.empty(n, dtype=np.int64)
    x = torch.from_numpy(np.asarray(z, dtype=np.float64)).to(dtype)
    for i in range(n):
        prm = dict(params, u=float(rng.random()))
        if mu is not None:
            prm["mu"] = mu
        _, token, new_mu = kernels.mirostat_step(method, x, t, accumulate="input", **prm)
        out[i] = int(token)
        mu = float(new_mu)
    return out


def _make(kind: str):
    def port(z, temperature, draws, seed, /, method="top-p", **params):
        n = draws  # top-n-sigma's parameter is also called n: draws and seed are positional
        if method in MIROSTAT:
            return _mirostat(method, z, temperature, n, seed, params)
        dtype = torch.float32 if kind == "multinomial" else torch.float64
        mask = _mask(method, z, temperature, params, dtype)
        if kind == "multinomial":
            x = torch.from_numpy(np.asarray(z, dtype=np.float32)) / temperature
            probs = torch.softmax(x.masked_fill(~torch.from_numpy(mask), -torch.inf), dim=-1)
            g = torch.Generator().manual_seed(int(seed))
            return torch.multinomial(probs, n, replacement=True, generator=g).numpy()
        rng = np.random.default_rng(seed)
        p = _probs(z, temperature, mask)
        if kind == "race":
            e = rng.exponential(size=(n, p.size))
            return np.argmax(p[None, :] / e, axis=1)
        order = _order(p)
        k = order.size
        q = p[order]
        if kind == "untruncated":
            full = _probs(z, temperature, np.isfinite(np.asarray(z, dtype=np.float64)))
            order = _order(full)
            q, k = full[order], order.size
        elif kind == "never_last" and k >= 2:
            order, k = order[:-1], k - 1
            q = q[:-1] / q[:-1].sum()
        elif kind == "unnormalised":
            full = _probs(z, temperature, np.isfinite(np.asarray(z, dtype=np.float64)))
            q = full[order]  # the kept tokens' probabilities under the untruncated softmax
        u = rng.random(n)
        i = np.searchsorted(np.cumsum(q), u, side="right")
        if kind == "off_by_one":
            i = i + 1
        tokens = order[np.clip(i, 0, k - 1)]
        if kind == "biased" and k >= 2:
            tokens = np.where(rng.random(n) < 0.03, order[1], tokens)
        return tokens

    return port


def for_method(kind: str, method: str):
    """The port ``kind`` bound to ``method`` (the harness calls ``fn(z, t, draws, seed, **params)``)."""
    base = _make(kind)

    def port(z, temperature, draws, seed, /, **params):
        return base(z, temperature, draws, seed, method=method, **params)

    port.__name__ = f"{kind}_{method}"
    return port


CORRECT = ("inverse_cdf", "multinomial", "race")
MUTANTS = ("untruncated", "never_last", "off_by_one", "unnormalised", "biased")

# module-level ports for the command line (top-p), e.g. tests.meta.draws_ports:inverse_cdf
inverse_cdf = for_method("inverse_cdf", "top-p")
multinomial = for_method("multinomial", "top-p")
race = for_method("race", "top-p")
untruncated = for_method("untruncated", "top-p")
