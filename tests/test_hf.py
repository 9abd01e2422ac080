"""The transformers drop-ins: interface checks and real ``generate(do_sample=True)`` runs on a
tiny randomly initialised model built from a config (nothing is downloaded)."""

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers", reason="transformers (the 'hf' extra) is not installed")

import ees_theory as et  # noqa: E402
from ees_theory.hf import DynaTempLogitsWarper, EDTLogitsWarper, EESLogitsWarper  # noqa: E402

WARPERS = {
    "ees": lambda: EESLogitsWarper(temperature=0.9),
    "ees-inclusive-m3": lambda: EESLogitsWarper(rule="first-inclusive", min_tokens_to_keep=3),
    "edt": lambda: EDTLogitsWarper(T0=1.0, theta=0.5),
    "dynatemp": lambda: DynaTempLogitsWarper(temp=0.8, delta=0.4, exponent=1.0),
}


@pytest.mark.parametrize("name", WARPERS)
def test_is_a_logits_processor_and_does_not_modify_input(name):
    warper = WARPERS[name]()
    assert isinstance(warper, transformers.LogitsProcessor)
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 40, generator=g) * 3
    scores[1, :5] = -math.inf
    before = scores.clone()
    out = warper(torch.zeros(3, 1, dtype=torch.long), scores)
    assert torch.equal(scores, before)
    assert out.shape == scores.shape and out.dtype == scores.dtype
    assert not torch.isnan(out).any()
    assert torch.isneginf(out[1, :5]).all()


def test_ees_warper_matches_the_mask_and_filter_value():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(4, 30, generator=g) * 2
    out = EESLogitsWarper(filter_value=-1234.0, min_tokens_to_keep=2)(None, scores)
    mask = et.torch.ees_mask(scores, min_tokens_to_keep=2)
    assert torch.equal(out != -1234.0, mask)
    assert (mask.sum(-1) >= 2).all()
    # kept tokens keep their relative log-probabilities (temperature 1)
    kept = torch.where(mask, scores, -math.inf)
    assert torch.allclose(torch.softmax(torch.where(mask, out, -math.inf), -1), torch.softmax(kept, -1))


def test_greedy_rows_and_min_tokens_to_keep():
    scores = torch.tensor([[5.0, 1.0, 5.0, -math.inf]])  # one-hot is not needed: dynatemp temp 0
    out = DynaTempLogitsWarper(temp=0.0, delta=0.0)(None, scores)
    assert out.tolist() == [[0.0, -math.inf, -math.inf, -math.inf]]  # first maximum, llama.cpp
    out = DynaTempLogitsWarper(temp=0.0, delta=0.0, min_tokens_to_keep=3)(None, scores)
    assert out.tolist() == [[0.0, 0.0, 0.0, -math.inf]]
    single = torch.tensor([[2.0, -math.inf, -math.inf]])  # H = 0: EDT is greedy
    assert EDTLogitsWarper(T0=1.0, theta=1.0)(None, single).tolist() == [[0.0, -math.inf, -math.inf]]


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        EESLogitsWarper(temperature=0.0)
    with pytest.raises(ValueError, match="N must lie strictly between 0 and 1"):
        EDTLogitsWarper(T0=1.0, theta=1.0, N=2.0)
    with pytest.raises(TypeError, match="filter_value must be a number"):
        DynaTempLogitsWarper(1.0, 0.5, filter_value="x")
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="filter_value must not be NaN or \\+inf"):
            EESLogitsWarper(filter_value=bad)


@pytest.fixture(scope="module")
def tiny_model():
    config = transformers.LlamaConfig(
        vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    return model


@pytest.mark.parametrize("name", WARPERS)
def test_generate_samples_with_each_warper(tiny_model, name):
    warper = WARPERS[name]()
    seen = []

    def recording(input_ids, scores):
        out = warper(input_ids, scores)
        seen.append(out)
        return out

    prompt = torch.tensor([[1, 5, 7, 9], [1, 11, 13, 17]])
    torch.manual_seed(1)
    out = tiny_model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        do_sample=True,
        max_new_tokens=6,
        min_new_tokens=6,
        top_k=None,
        top_p=None,
        logits_processor=transformers.LogitsProcessorList([recording]),
    )
    assert out.shape == (2, 4 + 6)
    assert len(seen) == 6
    new = out[:, 4:]
    for step, scores in enumerate(seen):
        # every sampled token was allowed by the warper at that step
        allowed = torch.isfinite(scores)
        assert allowed.gather(-1, new[:, step : step + 1]).all(), (name, step)
        assert not torch.isnan(scores).any()
