"""Float emulation helpers written independently for kernel / C style ports.

Every value is held in a float64 container but is always an exact member of the
format it was last rounded to.  Formats: float64, float32, float16, bfloat16.
Basic ops are emulated as (exact-or-float64 result) -> round-to-nearest-even to
the format; with <= 24-bit targets the float64 intermediate is wide enough that
this equals a correctly rounded op.  Transcendentals are the float64 libm value
rounded to the format (a correctly rounded expf/logf, as good as C's libm).
"""
import math
import numpy as np

PREC = {"float64": (53, -1022), "float32": (24, -126), "float16": (11, -14), "bfloat16": (8, -126)}
MAXV = {"float64": 1.7976931348623157e308, "float32": 3.4028234663852886e38,
        "float16": 65504.0, "bfloat16": 3.3895313892515355e38}
LOG2E = 1.4426950408889634
INF = float("inf")


def R(x, fmt):
    """Vectorised round-to-nearest-even of float64 values into fmt."""
    x = np.array(x, dtype=np.float64, copy=True)
    if fmt == "float64":
        return x
    if fmt == "float32":
        with np.errstate(over="ignore"):
            return x.astype(np.float32).astype(np.float64)
    p, emin = PREC[fmt]
    fin = np.isfinite(x) & (x != 0)
    if not fin.any():
        return x
    xf = x[fin]
    _, e = np.frexp(xf)
    q = np.maximum(e - p, emin - p + 1)
    r = np.ldexp(np.rint(np.ldexp(xf, -q)), q)
    big = np.abs(r) > MAXV[fmt]
    r[big] = np.copysign(INF, r[big])
    x[fin] = r
    return x


def rs(x, fmt):
    """Scalar round-to-nearest-even into fmt (Python float in, Python float out)."""
    x = float(x)
    if fmt == "float64" or x == 0.0 or x != x or x in (INF, -INF):
        return x
    p, emin = PREC[fmt]
    _, e = math.frexp(x)
    q = max(e - p, emin - p + 1)
    r = math.ldexp(round(math.ldexp(x, -q)), q)
    if abs(r) > MAXV[fmt]:
        return math.copysign(INF, r)
    return r


def slog(x):
    return math.log(x) if x > 0 else (-INF if x == 0 else float("nan"))


class Ctx:
    """Arithmetic in one compute format (cd) with an optional storage format (sd)."""

    def __init__(self, cd, sd=None, exp="cr"):
        self.cd = cd
        self.sd = sd or cd
        self.expk = exp

    # vector ops ---------------------------------------------------------
    def r(self, x):
        return R(x, self.cd)

    def store(self, x):
        # per-element value written back in the storage dtype
        return R(R(x, self.cd), self.sd)

    def add(self, a, b):
        return R(np.asarray(a) + np.asarray(b), self.cd)

    def sub(self, a, b):
        return R(np.asarray(a) - np.asarray(b), self.cd)

    def mul(self, a, b):
        return R(np.asarray(a) * np.asarray(b), self.cd)

    def div(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return R(np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64), self.cd)

    def exp(self, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            if self.expk == "ex2" and self.cd != "float64":
                # CUDA fast path: exp(x) = ex2(x * log2e), product rounded in float32
                t = R(x * R(LOG2E, "float32"), "float32")
                return R(R(np.exp2(t), "float32"), self.cd)
            if self.expk == "np32":
                # numpy's own float32 SIMD expf
                return R(np.exp(x.astype(np.float32)).astype(np.float64), self.cd)
            return R(np.exp(x), self.cd)

    def log(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return R(np.log(np.asarray(x, dtype=np.float64)), self.cd)

    # scalar ops ----------------------------------------------------------
    def s(self, x):
        return rs(x, self.cd)

    def sexp(self, x):
        try:
            return rs(math.exp(x), self.cd)
        except OverflowError:
            return INF

    def slog(self, x):
        return rs(slog(x), self.cd)


# -------------------------------------------------------------------------
# GPU-style reductions and scans


def _pad_blocks(a, B, fill=0.0):
    a = np.asarray(a, dtype=np.float64)
    n = len(a)
    nb = max(1, -(-n // B))
    A = np.full(nb * B, fill)
    A[:n] = a
    return A.reshape(nb, B), n


def tree_reduce(a, fmt, B=256, combine="seq"):
    """Sum: each block of B lanes reduced by a butterfly tree (every add rounded), partials combined
    sequentially in block order (atomic-free 2nd pass) or by another tree."""
    if len(a) == 0:
        return 0.0
    A, _ = _pad_blocks(a, B)
    w = B
    while w > 1:
        h = w // 2
        A = R(A[:, :h] + A[:, h:w], fmt)
        w = h
    parts = A[:, 0]
    if combine == "seq":
        s = float(parts[0])
        for v in parts[1:]:
            s = rs(s + float(v), fmt)
        return s
    m = 1
    while m < len(parts):
        m *= 2
    P = np.zeros(m)
    P[: len(parts)] = parts
    while len(P) > 1:
        P = R(P[0::2] + P[1::2], fmt)
    return float(P[0])


def seq_cumsum(a, fmt):
    """C-style running sum, every addition rounded to fmt."""
    a = np.asarray(a, dtype=np.float64)
    if fmt == "float64":
        return np.cumsum(a)
    if fmt == "float32":
        return np.cumsum(a.astype(np.float32)).astype(np.float64)
    if fmt == "float16":
        with np.errstate(over="ignore"):
            return np.cumsum(a.astype(np.float16)).astype(np.float64)
    out = np.empty(len(a))
    s = 0.0
    for i, v in enumerate(a):
        s = rs(s + v, fmt)
        out[i] = s
    return out


def block_scan(a, fmt, B=256, warp=None, forget_prev=False):
    """Inclusive prefix sum as a CUDA block scan: Hillis-Steele scan inside each block (or a warp
    scan of `warp` lanes plus a scan of the warp totals), then each block adds the running offset
    of the blocks before it (decoupled look-back, offsets summed sequentially, rounded).
    forget_prev: BUG -- block b gets the offset of blocks 0..b-2 only."""
    n = len(a)
    if n == 0:
        return np.zeros(0)
    A, _ = _pad_blocks(a, B)
    nb = A.shape[0]
    if warp is None or warp >= B:
        d = 1
        while d < B:
            A[:, d:] = R(A[:, d:] + A[:, :-d], fmt)
            d *= 2
    else:
        W = A.reshape(nb, B // warp, warp)
        d = 1
        while d < warp:
            W[:, :, d:] = R(W[:, :, d:] + W[:, :, :-d], fmt)
            d *= 2
        tot = W[:, :, -1].copy()  # warp totals, scanned by warp 0 (sequential)
        off = np.zeros_like(tot)
        for j in range(1, tot.shape[1]):
            off[:, j] = R(off[:, j - 1] + tot[:, j - 1], fmt)
        W = np.where(off[:, :, None] != 0, R(W + off[:, :, None], fmt), W)
        A = W.reshape(nb, B)
    tots = A[:, -1].copy()
    offs = np.zeros(nb)
    for b in range(1, nb):
        offs[b] = rs(offs[b - 1] + tots[b - 1], fmt)
    if forget_prev:
        offs2 = np.zeros(nb)
        for b in range(2, nb):
            offs2[b] = offs[b - 1]  # sum of blocks 0..b-2: the previous block's total is missing
        offs = offs2
    out = np.where(offs[:, None] != 0, R(A + offs[:, None], fmt), A)
    return out.reshape(-1)[:n]
