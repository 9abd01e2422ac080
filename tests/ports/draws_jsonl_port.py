#!/usr/bin/env python3
"""An external draws port speaking the JSON Lines protocol (stdlib only): top-k by inverse CDF.

``ees-theory check 'exec:python tests/ports/draws_jsonl_port.py' --method top-k --draws 2000``.
With ``--drop-last`` it never draws the least probable kept token (a mutant).
"""

import json
import math
import random
import sys


def read_float(s):
    if isinstance(s, (int, float)):
        return float(s)
    s = s.strip().lower()
    return float.fromhex(s) if "0x" in s else float(s)


def top_k_draws(z, tau, k, n, seed, drop_last):
    order = sorted((i for i in range(len(z)) if z[i] != -math.inf), key=lambda i: (-z[i], i))[:k]
    if drop_last and len(order) > 1:
        order = order[:-1]
    top = z[order[0]] / tau
    w = [math.exp(z[i] / tau - top) for i in order]
    total = math.fsum(w)
    cdf, acc = [], 0.0
    for x in w:
        acc += x / total
        cdf.append(acc)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        u = rng.random()
        j = next((j for j, c in enumerate(cdf) if u < c), len(cdf) - 1)
        out.append(order[j])
    return out


def main():
    drop_last = "--drop-last" in sys.argv[1:]
    for line in sys.stdin:
        req = json.loads(line)
        try:
            z = [read_float(x) for x in req["logits"]]
            p = {k: read_float(v) for k, v in req["params"].items()}
            toks = top_k_draws(z, p["temperature"], int(p["k"]), int(req["draws"]), int(req["seed"]), drop_last)
            ans = {"id": req["id"], "tokens": toks}
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            ans = {"id": req.get("id"), "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
