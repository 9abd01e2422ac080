"""mirostat v1 and v2: the kept count moves with the state ``mu``, the chosen token with the
draw ``u``; the band moves both (``mu +- logp / ln 2`` for v2, through the Zipf fit for v1), and
the returned token and new ``mu`` are checked against the exact update.

>>> MirostatV2().stateful, MirostatV2().threshold, MirostatV1().threshold
(True, True, False)
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ... import reference, tolerances
from ...core.truncation import mirostat
from ..methods import Verdict
from .base import LN2, SamplerJudge

__all__ = ["MirostatV1", "MirostatV2"]


class _Mirostat(SamplerJudge):
    stateful = True
    needs_entropy = True

    def mu_band(self, st, params, ref, b, u: float) -> float | None:
        """How far ``mu`` may move the kept count (``None``: no claim)."""
        raise NotImplementedError

    def band(self, st, row, params, ref, b, options):
        if not math.isfinite(b["logp"]) or not math.isfinite(b["cum"]):
            return None
        mu = params["mu"]
        dmu = self.mu_band(st, params, ref, b, self.unit_roundoff(st, options))
        if dmu is None:
            return None
        pk = float(np.sum(np.exp(st.values[: ref.k] / st.tau - st.values[0] / st.tau)) / np.sum(np.exp(st.values / st.tau - st.values[0] / st.tau)))
        du = 2 * (b["cum"] + b["underflow"]) / pk
        ulo, uhi = max(params["u"] - du, 0.0), min(params["u"] + du, 1.0 - 2.0**-53)
        return [{"mu": mu + a, "u": w} for a in (-dmu, dmu) for w in (ulo, uhi)]

    def check_state(self, st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base) -> Verdict | None:
        """The chosen token must be the inverse-CDF draw of the kept set, and the new mu follow."""
        k = len(kept)
        if token not in kept:
            return Verdict("fail", f"chose token {token}, which is not in its own kept set", "wrong-token", **base)
        pos = {int(t): j for j, t in enumerate(st.order)}
        if counts is None:
            ok_token = True
        else:
            positions = {pos[int(r.token)] for r in edge_refs + [ref] if r.k == k}
            ok_token = bool(positions) and min(positions) <= pos[token] <= max(positions)
        if not ok_token:
            expected = sorted({int(r.token) for r in edge_refs + [ref] if r.k == k})
            why = f"chose token {token}; the inverse CDF at u = {params['u']!r} over the {k} kept token(s) gives {expected[:4] or [ref.token]}"
            return self.fail(row, params, ref, kept, options, why, "wrong-token", base)
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
        s_err = (b["logp"] + (b["cum"] if renorm else 0.0)) / LN2
        tol = rho * (abs(params["mu"]) + params["eta"] * (abs(float(surprise)) + params["tau"])) + params["eta"] * s_err
        err = abs(float(mu) - float(expected))
        base["details"].update(expected_mu=float(expected), got_mu=mu, mu_tolerance=tol, expected_token=int(ref.token), got_token=token)
        if math.isfinite(tol) and err > tol:
            fault, why = self.diagnose_mu(row, st, params, kept, token, mu, tol, options)
            msg = f"new mu {mu!r} where the exact update gives {mpmath.nstr(expected, 17)} (tolerance {tol:.3g}, {dtype})"
            if why:
                msg += ". Diagnosis: " + why
            return Verdict("fail", msg, fault, **dict(base, severity=err / tol if tol > 0 else math.inf))
        return None

    def diagnose_mu(self, row, st, params, kept, token, mu, tol, options) -> tuple[str, str]:
        """The misreading of the surprise that reproduces the port's new mu, if one does."""
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


class MirostatV1(_Mirostat):
    name = "mirostat-v1"

    def mu_band(self, st, params, ref, b, u):
        s_hat, k_hat = ref.extras.get("s_hat"), ref.extras.get("k_hat")
        mm = min(int(params["m"]), st.n)
        if k_hat is None or not math.isfinite(k_hat) or mm < 2:
            return 0.0  # a flat or one-token head: the fit is degenerate and nothing is cut
        t = np.log(np.arange(2, mm + 1) / np.arange(1, mm))
        if not (s_hat and s_hat > 0):
            return None
        eps_s = 2 * b["logp"] * float(t.sum()) / (s_hat * float((t * t).sum())) + 2 * (b["sum"] + 4 * u)
        if eps_s >= 0.5:
            return None
        L = abs(math.log(max(k_hat, 1e-300)))
        return (L * eps_s / (1 - eps_s) * s_hat + 2 * b["logp"]) / LN2


class MirostatV2(_Mirostat):
    name = "mirostat-v2"
    threshold = True

    def mu_band(self, st, params, ref, b, u):
        return b["logp"] / LN2
