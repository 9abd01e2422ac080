"""Large batches are processed in chunks of whole rows: same answers, same error messages."""

import pytest

torch = pytest.importorskip("torch")

from ees_theory.kernels import ees as kernel  # noqa: E402
from ees_theory.torch import ees_keep_count, ees_mask  # noqa: E402


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 64)  # 64 // 20 = 3 rows per chunk


def _batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5, 20, generator=g) * 3
    x[0, 1, :4] = 7.0            # a tied top block
    x[1, 2, 5:] = -float("inf")  # masked tokens
    x[2, 0] = 0.0                # a uniform row
    x[3, 4, 10:12] = x[3, 4, 3]  # ties further down
    return x


@pytest.mark.parametrize("method", ["sort", "topk"])
@pytest.mark.parametrize("rule", ["first-exclusive", "first-inclusive", "last"])
def test_chunked_equals_whole_batch(small_chunks, method, rule):
    x = _batch()
    tau = torch.linspace(0.3, 3.0, 20).reshape(4, 5)
    if method == "topk" and rule == "last":
        method = "sort"
    chunked = ees_mask(x, tau, 2, rule, method=method)
    counts = ees_keep_count(x, tau, 2, rule, method=method)
    kernel.CHUNK_ELEMENTS = 1 << 30
    assert torch.equal(chunked, ees_mask(x, tau, 2, rule, method=method))
    assert torch.equal(counts, ees_keep_count(x, tau, 2, rule, method=method))
    assert chunked.shape == x.shape and counts.shape == x.shape[:-1]


def test_errors_name_the_global_row(small_chunks):
    x = _batch().reshape(20, 20)
    x[17, 3] = float("nan")
    with pytest.raises(ValueError, match=r"row 17 at position 3"):
        ees_mask(x)
    with pytest.raises(ValueError, match="temperature"):
        ees_mask(_batch(), torch.zeros(4, 5))
