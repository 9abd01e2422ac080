"""Ports written with torch's own operations, as engine code is (``tests/ports/torch_engine_ports.py``:
transformers' ascending top-p, min-p on probabilities, typical with tied cut scores, epsilon and
eta; EES with ``softmax`` or ``log_softmax``), conform in every dtype and accumulation mode on the
golden vectors (uniform rows, ties, underflow, masked tokens) and 12 generated rows per run.
"""

import pytest

from ees_theory import harness as cf
from ees_theory import tolerances
from ees_theory.harness import InProcessPort, Options, run_check
from tests.ports.torch_engine_ports import PORTS, make

MODES = [(d, m) for d in cf.DTYPES for m in ("input", "float32") if not (d == "float64" and m == "float32")]


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("name", sorted(PORTS))
def test_torch_engine_ports_conform(name, dtype, mode):
    method, policy = PORTS[name]
    fn = make(name, tolerances.compute_dtype_name(dtype, mode))
    cases = cf.plan(method, dtype, examples=12, seed=3)
    report = run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=mode, policy=policy), shrink=False)
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 15
