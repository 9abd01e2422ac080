"""Top-n-sigma (arXiv 2411.07641): keep ``l_i >= max l - n sigma`` over the scaled logits of the
candidates. The paper and llama.cpp use the population standard deviation (divide by ``N``), the
``sample-std`` policy the unbiased one (``torch.std``'s default, divide by ``N - 1``).

>>> ddof("paper"), ddof("sample-std")
(0, 1)
"""

from __future__ import annotations

from .policy import Policy

POLICIES = {
    "paper": Policy(min_keep="none"),
    "llama.cpp": Policy(noop=lambda prm: prm["n"] <= 0, noop_text="n <= 0", min_keep="none", off={"n": 0.0}),
    "sample-std": Policy(min_keep="none"),
}

__all__ = ["ddof", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-n-sigma": {}}


def ddof(policy: str) -> int:
    """Delta degrees of freedom of ``sigma`` under ``policy``: the variance divides by ``N - ddof``.

    Parameters
    ----------
    policy : str
        A policy of top-n-sigma (``"paper"``, ``"llama.cpp"`` or ``"sample-std"``).

    Returns
    -------
    int
        1 under ``sample-std``, else 0.
    """
    return 1 if policy == "sample-std" else 0
