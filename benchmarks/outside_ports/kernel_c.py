"""Independent kernel-style (CUDA) and C-style (llama.cpp) ports of the sampling rules.

Each port is produced by a factory parametrised by the dtype under test and the mode:
  mode "input":   every elementwise op and every reduction rounded to the input dtype
  mode "float32": half inputs computed in float32 (float32 stays float32, float64 stays float64)
Module-level names: <variant>__<dtype>__<mode>, e.g. ees_k256_online__float16__input.
"""
import math
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fnum import Ctx, R, rs, tree_reduce, seq_cumsum, block_scan, INF

DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = ("input", "float32")


def compute_dtype(dt, mode):
    if mode == "input" or dt == "float64":
        return dt
    return "float32"


# ---------------------------------------------------------------------------
# shared front ends


class Row:
    """A row after the softmax: finite ids, scaled logits x, probabilities p (stored), log-probs."""


def kernel_softmax(logits, tau, c, B=256, kind="online", scale="shift_first", logp="logsoftmax",
                   recip=False):
    """CUDA-style softmax of logits/tau over the finite entries.
    kind: 'online' (running max + rescaled running sum over blocks, FlashInfer style) or
          'twopass' (max, then tree-reduced sum of exp).
    scale: 'shift_first' x = (z - max)/tau, or 'scale_first' x = z/tau (then max subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    ids = np.flatnonzero(np.isfinite(z))
    zf = z[ids]
    t = c.s(tau) if tau is not None else 1.0
    if tau is None:
        x = c.r(zf)
    elif scale == "shift_first":
        x = c.div(c.sub(zf, zf.max()), t) if not recip else c.mul(c.sub(zf, zf.max()), c.s(1.0 / t))
    else:
        x = c.div(zf, t) if not recip else c.mul(zf, c.s(1.0 / t))
    if kind == "online":
        M, S = -INF, 0.0
        nb = max(1, -(-len(x) // B))
        for b in range(nb):
            xb = x[b * B:(b + 1) * B]
            mb = float(xb.max())
            sb = tree_reduce(c.exp(c.sub(xb, mb)), c.cd, B=32, combine="tree")  # warp butterflies, then a tree over warps
            Mn = max(M, mb)
            a1 = c.s(S * c.sexp(c.s(M - Mn))) if M > -INF else 0.0
            a2 = c.s(sb * c.sexp(c.s(mb - Mn)))
            S = c.s(a1 + a2)
            M = Mn
    else:
        M = float(x.max())
        S = tree_reduce(c.exp(c.sub(x, M)), c.cd, B=B)
    d = c.sub(x, M)
    e = c.exp(d)
    if recip:
        p = c.store(c.mul(e, c.s(1.0 / S)))
    else:
        p = c.store(c.div(e, S))
    if logp == "logsoftmax":
        lp = c.sub(d, c.slog(S))
    else:
        lp = c.log(p)
    r = Row()
    r.z, r.ids, r.zf, r.x, r.p, r.lp, r.M, r.S, r.e, r.V = z, ids, zf, x, p, lp, M, S, e, len(z)
    return r


def c_softmax(logits, tau, c):
    """llama.cpp style: sort candidates by logit, logit /= t, p = expf(l - max_l), running float
    sum, p /= sum (every operation rounded to the compute dtype)."""
    z = np.asarray(logits, dtype=np.float64)
    ids = np.flatnonzero(np.isfinite(z))
    zf = z[ids]
    order = np.argsort(-zf, kind="stable")
    ids, zf = ids[order], zf[order]
    # (logit - max_l) / t: the max is subtracted first so that a small t cannot overflow a half type
    x = c.div(c.sub(zf, zf[0]), c.s(tau)) if tau is not None else c.sub(zf, zf[0])
    d = x
    e = c.exp(d)
    S = float(seq_cumsum(e, c.cd)[-1])
    p = c.div(e, S)
    r = Row()
    r.z, r.ids, r.zf, r.x, r.p, r.e, r.S, r.d, r.V = z, ids, zf, x, p, e, S, d, len(z)
    return r


def mask_of(V, ids):
    m = np.zeros(V, dtype=bool)
    m[np.asarray(ids, dtype=np.int64)] = True
    return m


def sort_desc(keys):
    return np.argsort(-np.asarray(keys), kind="stable")


def row_hash(logits):
    return zlib.crc32(np.asarray(logits, dtype=np.float64).tobytes())


# ---------------------------------------------------------------------------
# EES


def ees_from_sorted(P, Sk, c, bug=None):
    """Closed form on prefix sums (vectorised over k); returns kept count."""
    n = len(P)
    k = np.arange(1, n + 1, dtype=np.float64)
    lnk = c.log(k)
    H = c.add(c.log(P), c.div(Sk, P))
    if bug == "bits":
        H = c.div(H, c.s(math.log(2.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        Hbar = c.div(H, lnk)
    if bug == "nonstrict":
        cross = Hbar <= P
    else:
        cross = Hbar < P
    cross[:1] = False
    hit = np.flatnonzero(cross)
    return (int(hit[0]) if len(hit) else n), (len(hit) > 0)


def apply_ees_bug(kept, n, crossed, V, bug, tau, logits):
    if bug == "incl" and crossed:
        return kept + 1
    if bug == "plus1":
        return kept + 1  # may run past the candidates (a masked token)
    if bug == "minus1":
        return max(1, kept - 1)
    if bug == "cold" and tau < 0.3 and crossed:
        return kept + 1
    if bug == "bigV" and V > 1000:
        return max(1, kept - 1) if kept > 1 else min(kept + 1, n)
    if bug == "hash2" and row_hash(logits) % 50 == 0:
        return max(1, kept - 1) if kept > 1 else min(kept + 1, n)
    return kept


def make_ees_kernel(dt, mode, B=256, kind="online", scale="shift_first", logp="logsoftmax",
                    order="logit", storage=False, recip=False, warp=None, exp="cr", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd, dt if storage else cd, exp=exp)

    def ees(logits, temperature):
        r = kernel_softmax(logits, temperature, c, B=B, kind=kind, scale=scale, logp=logp,
                           recip=recip)
        o = sort_desc(r.zf if order == "logit" else r.p)
        ps, ls = r.p[o], r.lp[o]
        n = int(np.count_nonzero(ps > 0))
        ps, ls = ps[:n], ls[:n]
        if logp != "logsoftmax":
            ls = c.log(ps)
        t = c.r(-c.mul(ps, ls))
        fp = bug == "scanbug" and r.V > 256
        P = block_scan(ps, cd, B=B, warp=warp, forget_prev=fp)
        Sk = block_scan(t, cd, B=B, warp=warp, forget_prev=fp)
        kept, crossed = ees_from_sorted(P, Sk, c, bug=bug if bug in ("bits", "nonstrict") else None)
        kept = apply_ees_bug(kept, n, crossed, r.V, bug, temperature, logits)
        allo = np.concatenate([r.ids[sort_desc(r.zf if order == "logit" else r.p)],
                               np.flatnonzero(~np.isfinite(r.z))])
        return mask_of(r.V, allo[:kept])

    return ees


def make_ees_c(dt, mode, form="incremental", bug=None):
    """llama.cpp-style scalar loop over the sorted candidates."""
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)
    ln2 = math.log(2.0)

    def ees(logits, temperature):
        r = c_softmax(logits, temperature, c)
        p = r.p
        n = int(np.count_nonzero(p > 0))
        s = c.s
        kept, crossed = n, False
        P = float(p[0])
        H = 0.0
        Sacc = s(-s(P * c.slog(P))) if P < 1.0 else 0.0
        for i in range(1, n):
            pi = float(p[i])
            Pn = s(P + pi)
            if form == "incremental":
                a = s(P / Pn)
                b = s(H + c.slog(s(Pn / P)))
                q = s(pi / Pn)
                H = s(s(a * b) - s(q * c.slog(q)))
                Hk = H
            else:
                Sacc = s(Sacc - s(pi * c.slog(pi)))
                Hk = s(c.slog(Pn) + s(Sacc / Pn))
            if bug == "bits":
                Hk = s(Hk / s(ln2))
            Hbar = s(Hk / c.slog(i + 1))
            if (Hbar <= Pn) if bug == "nonstrict" else (Hbar < Pn):
                kept, crossed = i, True
                break
            P = Pn
        kept = apply_ees_bug(kept, n, crossed, r.V, bug, temperature, logits)
        allo = np.concatenate([r.ids, np.flatnonzero(~np.isfinite(r.z))])
        return mask_of(r.V, allo[:kept])

    return ees


# ---------------------------------------------------------------------------
# entropy front ends for EDT / dynatemp / eta / typical


def entropy_kernel(logits, tau, c, B=256, kind="online", form="plogp"):
    r = kernel_softmax(logits, tau, c, B=B, kind=kind)
    if form == "plogp":
        t = c.r(-c.mul(r.p, r.lp))
        t[r.p == 0] = 0.0
        H = tree_reduce(t, c.cd, B=B)
    else:  # log-sum-exp form: H = ln S - sum(e * d) / S, d = x - M <= 0
        d = c.sub(r.x, r.M)
        A = tree_reduce(c.mul(r.e, d), c.cd, B=B)
        H = c.s(c.slog(r.S) - c.s(A / r.S))
    return max(H, 0.0), r


def entropy_c(logits, c, bits=False):
    r = c_softmax(logits, None, c)
    H = 0.0
    for pi in r.p:
        pi = float(pi)
        if pi > 0:
            lg = c.slog(pi)
            if bits:
                lg = c.s(lg / c.s(math.log(2.0)))
            H = c.s(H - c.s(pi * lg))
    return H, r


# ---------------------------------------------------------------------------
# EDT


def make_edt(dt, mode, style="kernel", B=256, kind="online", form="plogp", tform="pow", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def edt(logits, T0, theta, N):
        if style == "kernel":
            H, _ = entropy_kernel(logits, None, c, B=B, kind=kind, form=form)
            if bug == "bits":
                H = c.s(H / c.s(math.log(2.0)))
        else:
            H, _ = entropy_c(logits, c, bits=(bug == "bits"))
        T0c, th, Nc = c.s(T0), c.s(theta), c.s(N)
        if th == 0:
            return T0c
        if H <= 0:
            return 0.0
        if tform == "pow":
            e = c.s(th / H)
            try:
                pw = c.s(math.pow(Nc, e))
            except OverflowError:
                pw = 0.0
        else:
            cc = c.s(th * c.slog(Nc))
            pw = c.sexp(c.s(cc / H)) if cc / H > -800 else 0.0
        T = c.s(T0c * pw)
        if bug == "hash2" and row_hash(logits) % 50 == 0:
            T = T * 1.01
        return float(T)

    return edt


# ---------------------------------------------------------------------------
# dynatemp (llama.cpp temp_ext)


def make_dynatemp(dt, mode, style="c", B=256, kind="online", form="plogp", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def dynatemp(logits, temp, delta, exponent):
        tc, dc, ec = c.s(temp), c.s(delta), c.s(exponent)
        if dc <= 0:
            return float(tc)
        n = len(logits)
        if n <= 1:
            return None
        if style == "c":
            H, _ = entropy_c(logits, c, bits=(bug == "bits"))
            maxent = c.s(-c.slog(c.s(1.0 / n)))
        else:
            H, _ = entropy_kernel(logits, None, c, B=B, kind=kind, form=form)
            if bug == "bits":
                H = c.s(H / c.s(math.log(2.0)))
            maxent = c.slog(n)
        tmin = max(0.0, c.s(tc - dc))
        tmax = c.s(tc + dc)
        ne = c.s(H / maxent)
        try:
            pw = c.s(math.pow(ne, ec))
        except (OverflowError, ZeroDivisionError):
            pw = INF
        T = c.s(tmin + c.s(c.s(tmax - tmin) * pw))
        return float(T)

    return dynatemp


# ---------------------------------------------------------------------------
# truncation samplers


def finish(r_ids_sorted, kept, V, m, n, zf_extra=None):
    kept = max(kept, min(m, n))
    return mask_of(V, r_ids_sorted[:kept])


def make_topk(dt, mode, style="sort", B=256):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def topk(logits, temperature, k=1, min_tokens_to_keep=1):
        z = np.asarray(logits, dtype=np.float64)
        ids = np.flatnonzero(np.isfinite(z))
        kk = min(max(int(k), int(min_tokens_to_keep)), len(ids))
        if style == "sort":
            o = ids[sort_desc(z[ids])]
            return mask_of(len(z), o[:kk])
        if style == "select":
            # radix-select style: pivot = kk-th largest value; keep > pivot, fill ties by index
            zf = z[ids]
            piv = np.partition(-zf, kk - 1)[kk - 1] * -1.0
            above = ids[zf > piv]
            ties = ids[zf == piv][: kk - len(above)]
            return mask_of(len(z), np.concatenate([above, ties]))
        # sort the probabilities a softmax kernel stored in the input dtype
        r = kernel_softmax(logits, temperature, Ctx(cd, dt), B=B)
        o = r.ids[sort_desc(r.p)]
        return mask_of(len(z), o[:kk])

    return topk


def make_topp(dt, mode, style="c", B=256, exclusive="shift", param="cd", storage=False, warp=None,
              bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd, dt if storage else cd)

    def topp(logits, temperature, p=0.9, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        tau = temperature
        if bug == "cold" and temperature < 0.3:
            tau = 1.0  # temperature dropped on cold rows
        if style == "c":
            r = c_softmax(logits, tau, c)
            ps, ids = r.p, r.ids
            n = len(ps)
            if p >= 1.0:
                return mask_of(r.V, ids)
            pc = c.s(p)
            cum = 0.0
            kept = n
            for i in range(n):
                cum = c.s(cum + float(ps[i]))
                hit = (cum > pc) if bug == "nonstrict" else (cum >= pc)
                if hit and i + 1 >= m:
                    kept = i + 1
                    break
        else:
            r = kernel_softmax(logits, tau, c, B=B)
            o = sort_desc(r.zf)
            ps, ids = r.p[o], r.ids[o]
            n = len(ps)
            fp = bug == "scanbug" and r.V > 256
            P = block_scan(ps, cd, B=B, warp=warp, forget_prev=fp)
            if exclusive == "shift":
                ex = np.concatenate([[0.0], P[:-1]])
            else:
                ex = c.sub(P, ps)
            pc = c.s(p) if param == "cd" else float(p)
            keep = (ex <= pc) if bug == "nonstrict" else (ex < pc)
            bad = np.flatnonzero(~keep)
            kept = int(bad[0]) if len(bad) else n
            kept = max(kept, min(m, n))
        if bug == "bigV" and r.V > 1000:
            kept = kept + 1
        if bug == "hash2" and row_hash(logits) % 50 == 0:
            kept = kept + 1
        kept = max(kept, min(m, n), 1)
        return mask_of(r.V, ids[:kept])

    return topp


def make_minp(dt, mode, style="prob", B=256, param="cd", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def minp(logits, temperature, min_p=0.1, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        tau = temperature
        if bug == "cold" and temperature < 0.3:
            tau = 1.0
        r = kernel_softmax(logits, tau, c, B=B)
        o = sort_desc(r.zf)
        mp = c.s(min_p) if param == "cd" else float(min_p)
        if style == "prob":
            thr = c.s(mp * float(r.p.max()))
            val = r.p
        elif style == "logit":  # llama.cpp: logit >= max_logit + logf(min_p)
            thr = c.s(float(r.x.max()) + c.slog(c.s(min_p))) if min_p > 0 else -INF
            val = r.x
        else:  # unnormalised exp(x - max) >= min_p
            thr = mp
            val = r.e
        keep = (val > thr) if bug == "nonstrict" else (val >= thr)
        ids = r.ids[o]
        kept_ids = ids[keep[o]]
        if len(kept_ids) < m:
            kept_ids = ids[:m]
        return mask_of(r.V, kept_ids)

    return minp


def make_typical(dt, mode, style="kernel", B=256, cut="ge"):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def typical(logits, temperature, mass=0.9, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        if style == "kernel":
            r = kernel_softmax(logits, temperature, c, B=B)
            t = c.r(-c.mul(r.p, r.lp))
            t[r.p == 0] = 0.0
            H = tree_reduce(t, cd, B=B)
            score = np.abs(c.sub(c.r(-r.lp), H))
            o = np.argsort(score, kind="stable")
            P = block_scan(r.p[o], cd, B=B)
            mc = c.s(mass)
            below = P < mc if cut == "ge" else P <= mc
            hit = np.flatnonzero(~below)
            kept = int(hit[0]) + 1 if len(hit) else len(o)
            ids = r.ids[o]
        else:
            r = c_softmax(logits, temperature, c)
            H = 0.0
            lps = np.full(len(r.p), -INF)
            for i, pi in enumerate(r.p):
                pi = float(pi)
                if pi > 0:
                    lps[i] = c.slog(pi)
                    H = c.s(H - c.s(pi * lps[i]))
            score = np.abs(c.sub(c.r(-lps), H))
            o = np.argsort(score, kind="stable")
            mc = c.s(mass)
            cum = 0.0
            kept = len(o)
            for i, j in enumerate(o):
                cum = c.s(cum + float(r.p[j]))
                if ((cum >= mc) if cut == "ge" else (cum > mc)) and i + 1 >= m:
                    kept = i + 1
                    break
            ids = r.ids[o]
        kept = max(kept, min(m, len(ids)))
        return mask_of(r.V, ids[:kept])

    return typical


def make_epsilon(dt, mode, style="prob", B=256, param="cd", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def eps_fn(logits, temperature, epsilon=1e-3, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        r = kernel_softmax(logits, temperature, c, B=B)
        o = sort_desc(r.zf)
        ec = c.s(epsilon) if param == "cd" else float(epsilon)
        if style == "prob":
            keep = (r.p >= ec) if bug == "nonstrict" else (r.p > ec)
        else:  # unnormalised: e_i > eps * S
            thr = c.s(ec * r.S)
            keep = (r.e >= thr) if bug == "nonstrict" else (r.e > thr)
        ids = r.ids[o]
        kept_ids = ids[keep[o]]
        if len(kept_ids) < m:
            kept_ids = ids[:m]
        if len(kept_ids) == 0:
            kept_ids = ids[:1]
        return mask_of(r.V, kept_ids)

    return eps_fn


def make_eta(dt, mode, style="kernel", B=256, kind="online", bug=None):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def eta_fn(logits, temperature, epsilon=1e-3, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        if style == "kernel":
            H, r = entropy_kernel(logits, temperature, c, B=B, kind=kind)
            if bug == "bits":
                H = c.s(H / c.s(math.log(2.0)))
            o = sort_desc(r.zf)
            ids, ps = r.ids[o], r.p[o]
        else:
            r = c_softmax(logits, temperature, c)
            H = 0.0
            for pi in r.p:
                pi = float(pi)
                if pi > 0:
                    lg = c.slog(pi)
                    if bug == "bits":
                        lg = c.s(lg / c.s(math.log(2.0)))
                    H = c.s(H - c.s(pi * lg))
            ids, ps = r.ids, r.p
        ec = c.s(epsilon)
        eta = min(ec, c.s(c.s(math.sqrt(ec)) * c.sexp(-H)))
        keep = ps > eta
        kept_ids = ids[keep]
        if len(kept_ids) < max(m, 1):
            kept_ids = ids[:max(m, 1)]
        return mask_of(r.V, kept_ids)

    return eta_fn


def make_topnsigma(dt, mode, style="twopass", B=256, on="scaled"):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def tns(logits, temperature, n=1.0):
        z = np.asarray(logits, dtype=np.float64)
        ids = np.flatnonzero(np.isfinite(z))
        x = c.div(z[ids], c.s(temperature)) if on == "scaled" else c.r(z[ids])
        cnt = len(x)
        M = float(x.max())
        if style == "twopass":
            mean = c.s(tree_reduce(x, cd, B=B) / cnt)
            dev = c.sub(x, mean)
            var = c.s(tree_reduce(c.mul(dev, dev), cd, B=B) / cnt)
        else:  # Welford, one sequential pass (C loop)
            mean, M2 = 0.0, 0.0
            for i, v in enumerate(x):
                v = float(v)
                dlt = c.s(v - mean)
                mean = c.s(mean + c.s(dlt / (i + 1)))
                M2 = c.s(M2 + c.s(dlt * c.s(v - mean)))
            var = c.s(M2 / cnt)
        sig = c.s(math.sqrt(var))
        thr = c.s(M - c.s(c.s(n) * sig))
        return mask_of(len(z), ids[x >= thr])

    return tns


def make_mirostat2(dt, mode, style="c", B=256):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)
    ln2 = math.log(2.0)

    def miro(logits, temperature, tau=3.0, eta=0.1, mu=6.0, u=0.5):
        if style == "c":
            r = c_softmax(logits, temperature, c)
            ps, ids = r.p, r.ids
        else:
            r = kernel_softmax(logits, temperature, c, B=B)
            o = sort_desc(r.zf)
            ps, ids = r.p[o], r.ids[o]
        muc = c.s(mu)
        sur = c.r(-c.div(c.log(ps), c.s(ln2)))
        kept = 1
        for i in range(1, len(ps)):
            if sur[i] > muc or ps[i] == 0:
                break
            kept = i + 1
        tot = float(seq_cumsum(ps[:kept], cd)[-1]) if style == "c" else tree_reduce(ps[:kept], cd, B=B)
        q = c.div(ps[:kept], tot)
        cum = 0.0
        tok = kept - 1
        for i in range(kept):
            cum = c.s(cum + float(q[i]))
            if cum > u:
                tok = i
                break
        s_tok = float(sur[tok])
        new_mu = c.s(muc - c.s(c.s(eta) * c.s(s_tok - c.s(tau))))
        return mask_of(r.V, ids[:kept]), int(ids[tok]), float(new_mu)

    return miro


def make_tfs(dt, mode, style="kernel", B=256):
    cd = compute_dtype(dt, mode)
    c = Ctx(cd)

    def tfs(logits, temperature, z=0.95, min_tokens_to_keep=1):
        m = int(min_tokens_to_keep)
        if style == "kernel":
            r = kernel_softmax(logits, temperature, c, B=B)
            o = sort_desc(r.zf)
            ps, ids = r.p[o], r.ids[o]
        else:
            r = c_softmax(logits, temperature, c)
            ps, ids = r.p, r.ids
        n = len(ps)
        if n < 3:
            return mask_of(r.V, ids[:max(1, min(m, n))])
        d1 = c.sub(ps[:-1], ps[1:])
        w = np.abs(c.sub(d1[:-1], d1[1:]))
        if style == "kernel":
            W = tree_reduce(w, cd, B=B)
            if W == 0:
                return mask_of(r.V, ids)
            cs = block_scan(c.div(w, W), cd, B=B)
        else:
            cw = seq_cumsum(w, cd)
            W = float(cw[-1])
            if W == 0:
                return mask_of(r.V, ids)
            cs = c.div(cw, W)
        count = int(np.count_nonzero(cs <= c.s(z)))
        kept = max(count + 1, min(m, n))
        return mask_of(r.V, ids[:kept])

    return tfs


# ---------------------------------------------------------------------------
# registry: (method, variant name, factory, kwargs)

CAREFUL = [
    ("ees", "ees_k256_online", make_ees_kernel, dict(B=256, kind="online")),
    ("ees", "ees_k32_twopass_logp", make_ees_kernel, dict(B=32, kind="twopass", logp="log", recip=True)),
    ("ees", "ees_k1024_store_porder", make_ees_kernel, dict(B=1024, kind="online", storage=True, order="prob", warp=32, scale="scale_first")),
    ("ees", "ees_k128_ex2", make_ees_kernel, dict(B=128, kind="online", exp="ex2")),
    ("ees", "ees_c_incr", make_ees_c, dict(form="incremental")),
    ("ees", "ees_c_closed", make_ees_c, dict(form="closed")),
    ("edt", "edt_k256_plogp", make_edt, dict(style="kernel", B=256, form="plogp")),
    ("edt", "edt_k1024_lse_exp", make_edt, dict(style="kernel", B=1024, form="lse", tform="exp")),
    ("edt", "edt_c", make_edt, dict(style="c")),
    ("dynatemp", "dyn_c", make_dynatemp, dict(style="c")),
    ("dynatemp", "dyn_k256", make_dynatemp, dict(style="kernel", B=256)),
    ("dynatemp", "dyn_k32_lse", make_dynatemp, dict(style="kernel", B=32, kind="twopass", form="lse")),
    ("top-k", "topk_sort", make_topk, dict(style="sort")),
    ("top-k", "topk_select", make_topk, dict(style="select")),
    ("top-k", "topk_probs", make_topk, dict(style="probs")),
    ("top-p", "topp_c", make_topp, dict(style="c")),
    ("top-p", "topp_k256_shift", make_topp, dict(style="kernel", B=256, exclusive="shift")),
    ("top-p", "topp_k1024_sub_store", make_topp, dict(style="kernel", B=1024, exclusive="sub", param="own", storage=True, warp=32)),
    ("min-p", "minp_prob", make_minp, dict(style="prob")),
    ("min-p", "minp_logit", make_minp, dict(style="logit")),
    ("min-p", "minp_unnorm", make_minp, dict(style="unnorm", param="own")),
    ("typical", "typ_kernel", make_typical, dict(style="kernel")),
    ("typical", "typ_c", make_typical, dict(style="c")),
    ("epsilon", "eps_prob", make_epsilon, dict(style="prob")),
    ("epsilon", "eps_unnorm_own", make_epsilon, dict(style="unnorm", param="own")),
    ("eta", "eta_kernel", make_eta, dict(style="kernel")),
    ("eta", "eta_c", make_eta, dict(style="c")),
    ("top-n-sigma", "tns_twopass", make_topnsigma, dict(style="twopass")),
    ("top-n-sigma", "tns_welford_raw", make_topnsigma, dict(style="welford", on="raw")),
    ("mirostat-v2", "miro2_c", make_mirostat2, dict(style="c")),
    ("mirostat-v2", "miro2_kernel", make_mirostat2, dict(style="kernel")),
    ("tfs", "tfs_kernel", make_tfs, dict(style="kernel")),
    ("tfs", "tfs_c", make_tfs, dict(style="c")),
]

BUGS = [
    ("ees", "bug_ees_incl", make_ees_kernel, dict(bug="incl")),
    ("ees", "bug_ees_plus1", make_ees_c, dict(bug="plus1")),
    ("ees", "bug_ees_minus1", make_ees_kernel, dict(bug="minus1")),
    ("ees", "bug_ees_nonstrict", make_ees_kernel, dict(bug="nonstrict")),
    ("top-p", "bug_topp_nonstrict", make_topp, dict(style="c", bug="nonstrict")),
    ("min-p", "bug_minp_nonstrict", make_minp, dict(style="prob", bug="nonstrict")),
    ("epsilon", "bug_eps_nonstrict", make_epsilon, dict(style="prob", bug="nonstrict")),
    ("ees", "bug_ees_bits", make_ees_c, dict(form="closed", bug="bits")),
    ("edt", "bug_edt_bits", make_edt, dict(style="kernel", bug="bits")),
    ("dynatemp", "bug_dyn_bits", make_dynatemp, dict(style="c", bug="bits")),
    ("eta", "bug_eta_bits", make_eta, dict(style="kernel", bug="bits")),
    ("ees", "bug_ees_cold", make_ees_kernel, dict(bug="cold")),
    ("top-p", "bug_topp_cold", make_topp, dict(style="c", bug="cold")),
    ("min-p", "bug_minp_cold", make_minp, dict(style="prob", bug="cold")),
    ("ees", "bug_ees_bigV", make_ees_kernel, dict(bug="bigV")),
    ("top-p", "bug_topp_bigV", make_topp, dict(style="kernel", bug="bigV")),
    ("ees", "bug_ees_hash2", make_ees_kernel, dict(bug="hash2")),
    ("top-p", "bug_topp_hash2", make_topp, dict(style="kernel", bug="hash2")),
    ("edt", "bug_edt_hash2", make_edt, dict(style="kernel", bug="hash2")),
    ("ees", "bug_ees_scan256", make_ees_kernel, dict(B=256, bug="scanbug")),
    ("top-p", "bug_topp_scan256", make_topp, dict(style="kernel", B=256, bug="scanbug")),
]

for _method, _name, _fac, _kw in CAREFUL + BUGS:
    for _dt in DTYPES:
        for _mode in MODES:
            globals()[f"{_name}__{_dt}__{_mode}"] = _fac(_dt, _mode, **_kw)
