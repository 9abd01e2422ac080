"""Ports written with torch's own operations, the way engine code is written, and nothing from
``ees_theory``: each is a function of ``(logits, temperature, **params)`` computing in the torch
dtype ``cd`` (the logits' dtype in input mode, float32 when half-precision logits are accumulated
in float32). Their rounding is torch's (its softmax, sort, cumsum and reductions), not the numpy
emulation of ``independent_ports.py``.

* ``ees_softmax``: ``softmax``, sort, ``cumsum`` of ``p`` and of ``-p ln p``, ``H = ln P + S / P``;
* ``ees_logsoftmax``: ``log_softmax``, sort, ``exp``; the crossings found with ``nonzero``;
* ``top_p_ascending``: sort ascending, ``softmax().cumsum()``, drop while ``<= 1 - p`` (the
  transformers convention), the last ``min_tokens_to_keep`` kept;
* ``top_p_descending``: mass before each token from the top, ``p >= 1`` meaning off (the paper's);
* ``min_p_probs``: ``p < min_p * max p`` dropped (transformers); ``min_p_logits``: the same on logits;
* ``typical_scores``: transformers' typical (``|-log p - H|`` ascending, ties of the cut score kept);
* ``epsilon_probs``, ``eta_probs``: transformers' epsilon and eta; ``top_k_threshold``: ``topk``'s
  k-th value as a threshold (ties kept);
* ``min_p_log_probs``: ``log_softmax``, kept where ``lp >= lp.max() + ln min_p`` (the threshold
  rounded to the compute dtype before the comparison);
* ``epsilon_strict``: ``softmax(x / T) > epsilon`` (the paper's strict threshold);
* ``top_n_sigma_std``: ``z = x / T``, kept where ``z >= z.max() - n * z.std(correction=0)``;
* ``typical_log_softmax``: ``log_softmax`` and its ``exp``, ``H`` by ``sum``, a stable ascending
  sort of ``|-lp - H|``, kept while the mass before a token (``cumsum - p``) is below ``mass``;
* ``typical_log_of_probs``: llama.cpp's typical written in torch: ``softmax``, ``H`` over ``p > 0``,
  scores ``|-log p - H|`` (``inf`` for every token whose probability underflowed to 0, so those
  tie), a stable ascending sort, kept up to the token whose running sum reaches ``mass``.

Every port divides by the temperature as a Python number: in half precision torch computes that
quotient in float32 and rounds it once.

>>> import numpy as np
>>> port = make("ees_softmax", "bfloat16")
>>> port(np.array([2.0, 1.0, 0.0], dtype=np.float32), 1.0).tolist()
[True, False, False]
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["make", "PORTS"]


def _mask_from(idx, k, V):
    m = torch.zeros(V, dtype=torch.bool)
    m[idx[:k]] = True
    return m.numpy()


def _ports(cd):
    def x_of(logits):
        src = np.float64 if logits.dtype == np.float64 else np.float32
        return torch.from_numpy(np.asarray(logits, dtype=src).copy()).to(cd)

    def ees_softmax(logits, temperature):
        p = torch.softmax((x_of(logits) - x_of(logits).max()) / temperature, -1)
        sp, idx = torch.sort(p, descending=True)
        n = int((sp > 0).sum())
        sp = sp[:n]
        P = torch.cumsum(sp, 0)
        S = torch.cumsum(-sp * torch.log(sp), 0)
        H = torch.log(P) + S / P
        for i in range(2, n + 1):
            if H[i - 1] / math.log(i) < P[i - 1]:
                return _mask_from(idx, i - 1, len(logits))
        return _mask_from(idx, n, len(logits))

    def ees_logsoftmax(logits, temperature):
        x = x_of(logits)
        lp = torch.log_softmax((x - x.max()) / temperature, -1)
        slp, idx = torch.sort(lp, descending=True)
        n = int(torch.isfinite(slp).sum())
        slp = slp[:n]
        sp = slp.exp()
        P = sp.cumsum(0)
        H = P.log() + (-sp * slp).cumsum(0) / P
        hbar = H[1:] / torch.arange(2, n + 1, dtype=cd).log()
        cross = (hbar < P[1:]).nonzero()
        return _mask_from(idx, int(cross[0]) + 1 if len(cross) else n, len(logits))

    def top_p_ascending(logits, temperature, p, min_tokens_to_keep=1):
        sl, si = torch.sort(x_of(logits) / temperature, descending=False)
        remove = sl.softmax(-1).cumsum(-1) <= (1 - p)
        remove[-min_tokens_to_keep:] = False
        return ~remove.scatter(0, si, remove).numpy() & np.isfinite(logits)

    def top_p_descending(logits, temperature, p, min_tokens_to_keep=1):
        if p >= 1:
            return np.isfinite(logits)
        sp, si = torch.sort(torch.softmax(x_of(logits) / temperature, -1), descending=True)
        before = torch.cumsum(sp, 0) - sp
        k = min(max(int((before < p).sum()), min_tokens_to_keep, 1), int(np.isfinite(logits).sum()))
        return _mask_from(si, k, len(logits))

    def min_p_probs(logits, temperature, min_p, min_tokens_to_keep=1):
        probs = torch.softmax(x_of(logits) / temperature, -1)
        remove = probs < min_p * probs.max()
        si = torch.argsort(probs, descending=True)
        sr = remove[si]
        sr[:min_tokens_to_keep] = False
        return ~sr.scatter(0, si, sr).numpy() & np.isfinite(logits)

    def min_p_logits(logits, temperature, min_p, min_tokens_to_keep=1):
        x = x_of(logits) / temperature
        keep = x >= x.max() + math.log(min_p) if min_p > 0 else torch.isfinite(x)
        keep[torch.argsort(x, descending=True)[:min_tokens_to_keep]] = True
        return keep.numpy() & np.isfinite(logits)

    def typical_scores(logits, temperature, mass, min_tokens_to_keep=1):
        x = x_of(logits) / temperature
        lp = torch.log_softmax(x, -1)
        ent = -(lp * lp.exp()).nansum(-1, keepdim=True)
        ss, si = torch.sort(torch.abs(-lp - ent), descending=False)
        last = (x.softmax(-1).gather(-1, si).cumsum(-1) < mass).sum().clamp(max=len(logits) - 1)
        rem = ss > ss[last]
        rem[:min_tokens_to_keep] = False
        return ~rem.scatter(0, si, rem).numpy() & np.isfinite(logits)

    def _threshold(x, probs, thr, min_tokens_to_keep):
        remove = probs < thr
        return ~(remove & (x < torch.topk(x, min(min_tokens_to_keep, x.numel()))[0][..., -1])).numpy()

    def epsilon_probs(logits, temperature, epsilon, min_tokens_to_keep=1):
        x = x_of(logits) / temperature
        return _threshold(x, x.softmax(-1), epsilon, min_tokens_to_keep) & np.isfinite(logits)

    def eta_probs(logits, temperature, epsilon, min_tokens_to_keep=1):
        x = x_of(logits) / temperature
        ent = torch.distributions.Categorical(logits=x.float()).entropy().to(cd)
        eps = torch.tensor(epsilon, dtype=cd)
        return _threshold(x, x.softmax(-1), torch.min(eps, torch.sqrt(eps) * torch.exp(-ent)), min_tokens_to_keep) & np.isfinite(logits)

    def top_k_threshold(logits, temperature, k, min_tokens_to_keep=1):
        x = x_of(logits) / temperature
        kk = min(max(int(k), min_tokens_to_keep), len(logits))
        return (x >= torch.topk(x, kk)[0][..., -1]).numpy() & np.isfinite(logits)

    def min_p_log_probs(logits, temperature, min_p, min_tokens_to_keep=1):
        lp = torch.log_softmax(x_of(logits) / temperature, -1)
        keep = lp >= lp.max() + math.log(min_p) if min_p > 0 else torch.isfinite(lp)
        keep[torch.argsort(lp, descending=True)[:min_tokens_to_keep]] = True
        return keep.numpy() & np.isfinite(logits)

    def epsilon_strict(logits, temperature, epsilon, min_tokens_to_keep=1):
        probs = torch.softmax(x_of(logits) / temperature, -1)
        keep = probs > epsilon
        keep[torch.argsort(probs, descending=True)[:min_tokens_to_keep]] = True
        return keep.numpy() & np.isfinite(logits)

    def top_n_sigma_std(logits, temperature, n):
        z = x_of(logits) / temperature
        zf = z[torch.isfinite(z)]
        return (z >= zf.max() - n * zf.std(correction=0)).numpy() & np.isfinite(logits)

    def typical_log_softmax(logits, temperature, mass, min_tokens_to_keep=1):
        lp = torch.log_softmax(x_of(logits) / temperature, -1)
        p = lp.exp()
        ent = -torch.where(p > 0, p * lp, torch.zeros_like(p)).sum()
        finite = torch.isfinite(lp)
        score = torch.where(finite, (-lp - ent).abs(), torch.full_like(p, math.inf))
        _, si = torch.sort(score, stable=True)
        before = torch.cumsum(p[si], 0) - p[si]
        keep = before < mass
        keep[:min_tokens_to_keep] = True
        keep[int(finite.sum()):] = False
        return _mask_from(si[keep], int(keep.sum()), len(logits))

    def typical_log_of_probs(logits, temperature, mass, min_tokens_to_keep=1):
        p = torch.softmax(x_of(logits) / temperature, -1)
        logp = torch.log(p)
        ent = -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum()
        cand = torch.nonzero(torch.from_numpy(np.isfinite(logits))).reshape(-1)  # masked tokens never
        _, si = torch.sort((-logp[cand] - ent).abs(), stable=True)
        order = cand[si]
        k = int((torch.cumsum(p[order], 0) < mass).sum()) + 1
        return _mask_from(order, min(max(k, int(min_tokens_to_keep)), len(order)), len(logits))

    return {f.__name__: f for f in (ees_softmax, ees_logsoftmax, top_p_ascending, top_p_descending, min_p_probs, min_p_logits,
                                    typical_scores, epsilon_probs, eta_probs, top_k_threshold, min_p_log_probs, epsilon_strict,
                                    top_n_sigma_std, typical_log_softmax, typical_log_of_probs)}


#: port name -> (method, policy it follows)
PORTS = {
    "ees_softmax": ("ees", "paper"),
    "ees_logsoftmax": ("ees", "paper"),
    "top_p_ascending": ("top-p", "transformers"),
    "top_p_descending": ("top-p", "paper"),
    "min_p_probs": ("min-p", "transformers"),
    "min_p_logits": ("min-p", "paper"),
    "typical_scores": ("typical", "transformers"),
    "epsilon_probs": ("epsilon", "transformers"),
    "eta_probs": ("eta", "transformers"),
    "top_k_threshold": ("top-k", "transformers"),
    "min_p_log_probs": ("min-p", "paper"),
    "epsilon_strict": ("epsilon", "paper"),
    "top_n_sigma_std": ("top-n-sigma", "paper"),
    "typical_log_softmax": ("typical", "paper"),
    "typical_log_of_probs": ("typical", "paper"),
}


def make(name: str, cd: str):
    """The port ``name`` computing in the torch dtype named ``cd``."""
    fn = _ports(getattr(torch, cd))[name]
    fn.__name__ = f"{name}_{cd}"
    return fn
