"""Ports of XTC, top-a, tail-free and quadratic sampling written from the engines' descriptions alone, in
plain Python loops over a sorted candidate list (one token at a time, as C code walks its
candidate array), float64 throughout. The careful ports conform under their policy; the mutant
ports at the end each carry one misreading, which the harness must reject and name: each port
declares what the harness must say of it (``@conforms`` under a policy, or ``@mutant`` with the
fault class and words of the message; see ``tests/meta/diagnosis.py``).

Port signature (``PROTOCOL.md``): ``fn(logits, temperature, **params) -> bool mask``.

>>> xtc_llama([2.0, 1.0, 0.0, -1.0], 1.0, threshold=0.1, probability=1.0, u=0.5, min_tokens_to_keep=1)
[False, True, True, True]
>>> top_a([2.0, 1.0, 0.0], 1.0, a=0.5, min_tokens_to_keep=1)
[True, True, False]
"""

import math
import random

from tests.meta.diagnosis import conforms, mutant


def _candidates(logits, temperature):
    """``[(probability, id), ...]`` of the finite entries, most probable first (ties: lower id)."""
    scaled = [(float(z) / float(temperature), i) for i, z in enumerate(logits) if not math.isinf(float(z))]
    scaled.sort(key=lambda t: (-t[0], t[1]))
    top = scaled[0][0]
    weights = [math.exp(x - top) for x, _ in scaled]
    total = math.fsum(weights)
    return [(w / total, i) for w, (_, i) in zip(weights, scaled)]


def _keep(size, ids):
    keep = [False] * size
    for i in ids:
        keep[i] = True
    return keep


def _xtc(logits, temperature, threshold, probability, u, min_keep, gate_le, all_above=False, floor=False):
    cands = _candidates(logits, temperature)
    gate = (probability > 0 and u <= probability) if gate_le else u < probability
    size = len(logits) if gate_le else len(cands)  # llama.cpp's min_keep counts its whole array
    if not gate or len(cands) < 2:
        return _keep(len(logits), [i for _, i in cands])
    last = -1  # the last position whose probability reaches the threshold
    for pos, (p, _) in enumerate(cands):
        if p >= threshold:
            last = pos
        else:
            break
    start = last + 1 if all_above else max(last, 0)
    if floor:
        start = min(start, max(size - min_keep, 0))
    elif size - start < min_keep:
        start = 0
    return _keep(len(logits), [i for _, i in cands[start:]])


@conforms("xtc", policy="llama.cpp")
def xtc_llama(logits, temperature, *, threshold, probability, u, min_tokens_to_keep=1):
    """llama.cpp's XTC: the gate opens when the draw is <= probability."""
    return _xtc(logits, temperature, threshold, probability, u, min_tokens_to_keep, gate_le=True)


@conforms("xtc", policy="paper")
def xtc_webui(logits, temperature, *, threshold, probability, u, min_tokens_to_keep=1):
    """text-generation-webui's XTC: the gate opens when the draw is < probability."""
    return _xtc(logits, temperature, threshold, probability, u, min_tokens_to_keep, gate_le=False)


@conforms("top-a", policy="paper")
def top_a(logits, temperature, *, a, min_tokens_to_keep=1):
    """Walk the sorted candidates until one falls under a * p_max^2 (past min_tokens_to_keep)."""
    cands = _candidates(logits, temperature)
    limit = a * cands[0][0] * cands[0][0]
    kept = []
    for pos, (p, i) in enumerate(cands):
        if p < limit and pos >= min_tokens_to_keep:
            break
        kept.append(i)
    return _keep(len(logits), kept)


def _tfs(logits, temperature, z, min_keep, llama):
    cands = _candidates(logits, temperature)
    n = len(cands)
    if z >= 1.0 or (llama and n < 3):
        return _keep(len(logits), [i for _, i in cands])
    ps = [p for p, _ in cands]
    curv = [abs((ps[j] - ps[j + 1]) - (ps[j + 1] - ps[j + 2])) for j in range(n - 2)]
    total = math.fsum(curv)
    if llama:
        flat = total <= 1e-6
        weights = [1.0 / len(curv)] * len(curv) if flat else [c / total for c in curv]
        cut, running = n, 0.0
        for j, w in enumerate(weights):
            running += w
            if running > z and j >= min_keep:
                cut = j
                break
        return _keep(len(logits), [i for _, i in cands[:cut]])
    if n >= 3 and total == 0.0:
        return _keep(len(logits), [i for _, i in cands])
    drop = [False] + [False] * len(curv) + [True]  # the first is always kept, the last always dropped
    running = 0.0
    for j, c in enumerate(curv):
        running += c / total
        drop[j + 1] = running > z
    kept = [i for pos, (_, i) in enumerate(cands) if not drop[pos] or pos < min_keep]
    return _keep(len(logits), kept)


@conforms("tfs", policy="llama.cpp")
def tfs_llama(logits, temperature, *, z, min_tokens_to_keep=1):
    """llama.cpp's tail-free sampling (removed late 2024)."""
    return _tfs(logits, temperature, z, min_tokens_to_keep, llama=True)


@conforms("tfs", policy="paper")
def tfs_webui(logits, temperature, *, z, min_tokens_to_keep=1):
    """text-generation-webui's tail-free sampling."""
    return _tfs(logits, temperature, z, min_tokens_to_keep, llama=False)


# ---- mutant ports: one misreading each ----------------------------------------------------------
@mutant("xtc", fault="least-above-dropped", words="keeps the least probable", policy="llama.cpp")
def xtc_drops_all_above(logits, temperature, *, threshold, probability, u, min_tokens_to_keep=1):
    """XTC that drops every token reaching the threshold, the least probable of them too."""
    return _xtc(logits, temperature, threshold, probability, u, min_tokens_to_keep, gate_le=True, all_above=True)


@mutant("xtc", fault="gate-comparison", words="u < probability", policy="paper")
def xtc_gate_le(logits, temperature, *, threshold, probability, u, min_tokens_to_keep=1):
    """llama.cpp's gate (u <= probability) where text-generation-webui's is asked for."""
    return xtc_llama(logits, temperature, threshold=threshold, probability=probability, u=u, min_tokens_to_keep=min_tokens_to_keep)


@mutant("xtc", fault="min-keep-partial", words="drops none", policy="llama.cpp")
def xtc_min_keep_floor(logits, temperature, *, threshold, probability, u, min_tokens_to_keep=1):
    """XTC that drops as many as min_tokens_to_keep allows instead of none."""
    return _xtc(logits, temperature, threshold, probability, u, min_tokens_to_keep, gate_le=True, floor=True)


@mutant("top-a", fault="linear-threshold", words="a * p_max^2", policy="paper")
def top_a_linear(logits, temperature, *, a, min_tokens_to_keep=1):
    """top-a with min-p's threshold a * p_max."""
    cands = _candidates(logits, temperature)
    kept = [i for pos, (p, i) in enumerate(cands) if p >= a * cands[0][0] or pos < max(min_tokens_to_keep, 1)]
    return _keep(len(logits), kept)


@mutant("tfs", fault="tail-index", words="one token more", policy="paper")
def tfs_llama_as_paper(logits, temperature, *, z, min_tokens_to_keep=1):
    """llama.cpp's cut index where the original's is asked for."""
    return tfs_llama(logits, temperature, z=z, min_tokens_to_keep=min_tokens_to_keep)


# ---- quadratic sampling: a logit transform ------------------------------------------------------
@conforms("quadratic", policy="paper")
def quadratic(logits, smoothing_factor, smoothing_curve):
    """text-generation-webui's quadratic sampling, token by token around the largest logit."""
    finite = [float(z) for z in logits if not math.isinf(float(z))]
    top = max(finite)
    if smoothing_factor == 0:
        return [float(z) for z in logits]
    k = (3.0 - smoothing_curve) / 2.0
    s = (smoothing_curve - 1.0) / 2.0
    out = []
    for z in logits:
        z = float(z)
        if math.isinf(z):
            out.append(z)
            continue
        d = z - top
        out.append(top - k * smoothing_factor * d * d + s * smoothing_factor * d * d * d)
    return out


@mutant("quadratic", fault="curve-sign-flipped", words="wrong sign")
def quadratic_curve_flipped(logits, smoothing_factor, smoothing_curve):
    """Quadratic sampling with the cubic term's sign reversed, s = (1 - c) / 2."""
    top = max(float(z) for z in logits if not math.isinf(float(z)))
    k, s = (3.0 - smoothing_curve) / 2.0, (1.0 - smoothing_curve) / 2.0
    f = smoothing_factor
    return [float(z) if math.isinf(float(z)) else top - k * f * (float(z) - top) ** 2 + s * f * (float(z) - top) ** 3 for z in logits]


@mutant("quadratic", fault="curve-ignored", words="smoothing curve ignored", dtype="float16")
def quadratic_curve_ignored(logits, smoothing_factor, smoothing_curve):
    """Quadratic sampling that reads only the smoothing factor (the plain quadratic, c = 1)."""
    return quadratic(logits, smoothing_factor, 1.0)


def quadratic_factor_only(logits, smoothing_factor):
    """Quadratic sampling as first shipped: a smoothing factor alone (the curve 1); no curve parameter."""
    return quadratic(logits, smoothing_factor, 1.0)


def xtc_without_gate(logits, temperature, *, threshold, u, min_tokens_to_keep=1):
    """XTC applied on every call (an engine that leaves the gate to its caller); no probability."""
    return _xtc(logits, temperature, threshold, 1.0, 0.0, min_tokens_to_keep, gate_le=True)


# ---- XTC as a token sampler (draws form): the port draws its own gate --------------------------
def _xtc_draws(logits, temperature, draws, seed, threshold, probability, min_tokens_to_keep, gated):
    rng = random.Random(seed)
    cands = _candidates(logits, temperature)
    acting = _xtc(logits, temperature, threshold, 1.0, 0.0, min_tokens_to_keep, gate_le=True)
    kept_acting = [(p, i) for p, i in cands if acting[i]]
    out = []
    for _ in range(draws):
        pool = kept_acting if (not gated or rng.random() < probability) else cands
        total = math.fsum(p for p, _ in pool)
        u, run = rng.random() * total, 0.0
        pick = pool[-1][1]
        for p, i in pool:  # inverse CDF, most probable first
            run += p
            if u < run:
                pick = i
                break
        out.append(pick)
    return out


def xtc_draws(logits, temperature, draws, seed, /, *, threshold, probability, min_tokens_to_keep=1):
    """XTC drawing tokens: each draw opens the gate with chance probability."""
    return _xtc_draws(logits, temperature, draws, seed, threshold, probability, min_tokens_to_keep, gated=True)


def xtc_draws_always(logits, temperature, draws, seed, /, *, threshold, probability, min_tokens_to_keep=1):
    """XTC drawing tokens with the gate ignored: it acts on every draw."""
    return _xtc_draws(logits, temperature, draws, seed, threshold, probability, min_tokens_to_keep, gated=False)
