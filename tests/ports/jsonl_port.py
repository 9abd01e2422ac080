#!/usr/bin/env python3
"""An external port speaking the JSON Lines protocol, in plain Python (stdlib only).

It stands in for a port written in another language: the harness runs it as a subprocess
(``ees-theory check 'exec:python tests/ports/jsonl_port.py' --method ees``), writes one request
per line to its stdin and reads one answer per line from its stdout. Floats travel as hex strings.
"""

import json
import math
import sys


def read_float(s):
    if isinstance(s, (int, float)):
        return float(s)
    s = s.strip().lower()
    return float.fromhex(s) if "0x" in s else float(s)


def entropy(z):
    fin = [x for x in z if x != -math.inf]
    top = max(fin)
    e = [math.exp(x - top) for x in fin]
    s = math.fsum(e)
    return -math.fsum((w / s) * math.log(w / s) for w in e if w > 0)


def ees(z, tau):
    z = [x / tau for x in z]
    order = sorted(range(len(z)), key=lambda i: (-z[i], i))
    order = [i for i in order if z[i] != -math.inf]
    n = len(order)
    vals = [z[i] for i in order]
    if n == 1 or vals[0] == vals[-1]:
        return order
    e = [math.exp(v - vals[0]) for v in vals]
    total = math.fsum(e)
    S = A = 0.0
    k = n
    for i in range(n):
        a = vals[0] - vals[i]
        S += e[i]
        A += e[i] * a
        if i >= 1:
            H = math.log(S) + A / S
            P = 1.0 if i == n - 1 else S / total
            if H / math.log(i + 1) < P:
                k = i
                break
    return order[:k]


def edt(z, T0, theta, N):
    if theta == 0:
        return T0
    H = entropy(z)
    return 0.0 if H == 0 else T0 * N ** (theta / H)


def dynatemp(z, temp, delta, exponent):
    if delta <= 0:
        return temp
    if len(z) <= 1:
        return None
    t_min, t_max = max(0.0, temp - delta), temp + delta
    if exponent == 0:
        return t_max
    return t_min + (t_max - t_min) * (entropy(z) / math.log(len(z))) ** exponent


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        z = [read_float(x) for x in req["logits"]]
        p = {k: read_float(v) for k, v in req["params"].items()}
        try:
            if req["method"] == "ees":
                reply = {"kept": ees(z, p["temperature"])}
            elif req["method"] == "edt":
                reply = {"temperature": float(edt(z, p["T0"], p["theta"], p["N"])).hex()}
            elif req["method"] == "dynatemp":
                t = dynatemp(z, p["temp"], p["delta"], p["exponent"])
                reply = {"temperature": None if t is None else float(t).hex()}
            else:
                reply = {"error": "unsupported method " + req["method"]}
        except Exception as exc:  # report, do not die
            reply = {"error": repr(exc)}
        reply["id"] = req["id"]
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
