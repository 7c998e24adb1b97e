"""Word attention maps (pladis_core.attention_maps): the float64 formula, λ = 0, accumulation, memory."""

import random

import pytest
import torch
import torch.nn.functional as F
from oracles import aggregate, cross_reference, joint_qkv, joint_weights_reference

from pladis_core.attention_maps import MapAccumulator, WordMaps, word_attention_maps, word_selection
from pladis_core.joint_attention import logsumexp_over_keys

WORDS = [[3], [5, 6, 7], [2, 9]]  # a one-token word, a word in three sub-word pieces, a word that occurs twice


def cross_qk(batch=2, heads=4, n_query=48, n_key=77, dim=16, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, n_query, dim, generator=g) * 1.6
    k = torch.randn(batch, heads, n_key, dim, generator=g)
    k[:, :, 0] *= 3.0  # a BOS-like key that takes most of the softmax, as in SD
    return q.to(dtype), k.to(dtype)


def assert_maps_close(actual: WordMaps, expected: WordMaps, atol=1e-5):
    for name, a, e in zip(WordMaps._fields, actual, expected, strict=True):
        torch.testing.assert_close(a.double(), e, atol=atol, rtol=0, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.3])
@pytest.mark.parametrize("scale", [0.0, 1.0, 2.0, 3.5])
def test_cross_attention_maps_equal_the_float64_formula(alpha, scale):
    q, k = cross_qk()
    maps = word_attention_maps(q, k, WORDS, alpha, scale)
    assert maps.dense.shape == (2, 3, 48) and maps.dense.dtype == torch.float32
    assert_maps_close(maps, cross_reference(q, k, WORDS, alpha, scale))


def test_maps_in_half_precision_inputs_are_computed_in_float32():
    q, k = cross_qk(dtype=torch.bfloat16)
    maps = word_attention_maps(q, k, WORDS, 1.5, 2.0)
    assert maps.pladis.dtype == torch.float32
    assert_maps_close(maps, cross_reference(q.double(), k.double(), WORDS, 1.5, 2.0))


def test_padding_mask_hides_keys_and_a_fully_masked_row_gives_zeros():
    q, k = cross_qk(n_key=20)
    bias = torch.zeros(2, 1, 48, 20)
    bias[..., 15:] = float("-inf")  # padding keys
    bias[1, :, 4] = float("-inf")  # a query row that sees no key at all
    words = [[3], [5, 6], [16]]
    maps = word_attention_maps(q, k, words, 1.5, 2.0, bias=bias)
    visible = bias.clone()
    visible[1, :, 4] = 0  # the reference's entmax needs a finite logit in every row; that row is set below
    expected = cross_reference(q, k, words, 1.5, 2.0, bias=visible)
    for m, e in zip(maps, expected, strict=True):
        assert torch.all(m[1, :, 4] == 0)
        assert torch.all(m[:, 2] == 0)  # the padded word gets nothing
        e[1, :, 4] = 0
        torch.testing.assert_close(m.double(), e, atol=1e-5, rtol=0)


def test_repeated_keys_share_the_engines_entmax_weight():
    """A context repeated twice (ComfyUI's cond/uncond batching): with key_repeats = 2, a word's two copies
    together get the weight it gets over the un-repeated keys, as in the engine."""
    q, k = cross_qk(batch=1, n_key=10)
    once = word_attention_maps(q, k, [[3]], 1.5, 2.0)
    twice = word_attention_maps(q, k.repeat(1, 1, 2, 1), [[3, 13]], 1.5, 2.0, key_repeats=torch.tensor([2.0]))
    assert_maps_close(twice, WordMaps(*(m.double() for m in once)), atol=1e-6)


@pytest.mark.parametrize("mass_from", ["text_mass", "total_logsumexp"])
@pytest.mark.parametrize("alpha", [1.5, 2.0])
@pytest.mark.parametrize("scale", [0.0, 2.0])
def test_joint_attention_maps_are_the_text_block_of_the_joint_weights(mass_from, alpha, scale):
    text, image = slice(0, 9), slice(9, 45)
    q, k, v = joint_qkv(batch=2, heads=3, n_text=9, n_image=36, n_ref=4, dtype=torch.float32)
    weights = joint_weights_reference(q, k, v, text, image, alpha, scale)[:, :, image, text]
    dense_block = (q.double() @ k.double().transpose(-1, -2) / 4).softmax(-1)[:, :, image, text]
    sparse_block = (weights - dense_block) / scale + dense_block if scale else None
    if mass_from == "text_mass":
        extra = {"text_mass": dense_block.sum(-1).float()}
    else:
        extra = {"total_logsumexp": logsumexp_over_keys(q, k)[:, :, image]}
    words = [[0], [2, 3], [8]]
    maps = word_attention_maps(q[:, :, image], k[:, :, text], words, alpha, scale, **extra)
    torch.testing.assert_close(maps.dense.double(), aggregate(dense_block, words), atol=1e-5, rtol=0)
    torch.testing.assert_close(maps.pladis.double(), aggregate(weights, words), atol=1e-5, rtol=0)
    if sparse_block is not None:
        torch.testing.assert_close(maps.sparse.double(), aggregate(sparse_block, words), atol=1e-5, rtol=0)


@pytest.mark.parametrize("mass", [None, "text_mass"])
def test_lambda_zero_gives_identical_dense_and_pladis_maps(mass):
    q, k = cross_qk(heads=10)
    extra = {} if mass is None else {"text_mass": torch.rand(2, 10, 48)}
    maps = word_attention_maps(q, k, WORDS, 1.5, 0.0, **extra)
    assert torch.equal(maps.dense, maps.pladis)
    assert not torch.equal(maps.dense, maps.sparse)


def test_chunking_does_not_change_the_maps():
    q, k = cross_qk(n_query=100)
    whole = word_attention_maps(q, k, WORDS, 1.5, 2.0)
    chunked = word_attention_maps(q, k, WORDS, 1.5, 2.0, memory_budget=256 << 10)
    for a, b in zip(whole, chunked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_word_selection_rejects_bad_word_lists():
    with pytest.raises(ValueError, match="empty"):
        word_selection([], 77, torch.float32, "cpu")
    with pytest.raises(ValueError, match="no keys"):
        word_selection([[1], []], 77, torch.float32, "cpu")
    with pytest.raises(ValueError, match="outside 0..76"):
        word_selection([[77]], 77, torch.float32, "cpu")
    assert word_selection([[4, 4, 5]], 8, torch.float32, "cpu")[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]


def test_a_budget_below_one_row_is_refused():
    q, k = cross_qk()
    with pytest.raises(ValueError, match="too small"):
        word_attention_maps(q, k, WORDS, 1.5, 2.0, memory_budget=1000)


def random_calls(n_calls=12, seed=0):
    """(maps, grid) of calls at two resolutions, as a UNet's layers give them."""
    g = torch.Generator().manual_seed(seed)
    calls = []
    for i in range(n_calls):
        grid = (4, 6) if i % 3 else (8, 12)
        maps = WordMaps(*(torch.rand(2, 3, grid[0] * grid[1], generator=g) for _ in range(3)))
        calls.append((maps, grid))
    return calls


def test_accumulation_does_not_depend_on_the_order_of_the_calls():
    calls = random_calls()
    results = []
    for seed in range(3):
        order = calls[:]
        random.Random(seed).shuffle(order)
        accumulator = MapAccumulator()
        for maps, grid in order:
            accumulator.add(maps, grid)
        results.append(accumulator.latent_maps((16, 24)))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_latent_maps_are_the_mean_of_the_upsampled_call_maps():
    calls = random_calls()
    accumulator = MapAccumulator()
    for maps, grid in calls:
        accumulator.add(maps, grid)
    result = accumulator.latent_maps((16, 24))
    assert result.dense.shape == (2, 3, 16, 24) and result.dense.dtype == torch.float64
    for field in range(3):
        upsampled = [
            F.interpolate(maps[field].double().view(2, 3, *grid), size=(16, 24), mode="bilinear", align_corners=False)
            for maps, grid in calls
        ]
        torch.testing.assert_close(result[field], torch.stack(upsampled).mean(0), atol=1e-12, rtol=0)


def test_accumulator_memory_is_one_map_per_resolution():
    accumulator = MapAccumulator()
    for maps, grid in random_calls(30):
        accumulator.add(maps, grid)
    assert sorted(accumulator.sums) == [(4, 6), (8, 12)]
    assert accumulator.total_weight == 30


def test_accumulator_rejects_mismatched_calls():
    accumulator = MapAccumulator()
    with pytest.raises(ValueError, match="no attention call"):
        accumulator.latent_maps((4, 4))
    maps = WordMaps(*(torch.rand(1, 2, 12) for _ in range(3)))
    with pytest.raises(ValueError, match="grid 4×4"):
        accumulator.add(maps, (4, 4))
    accumulator.add(maps, (3, 4))
    with pytest.raises(ValueError, match="recorded before"):
        accumulator.add(WordMaps(*(torch.rand(1, 3, 12) for _ in range(3))), (3, 4))


def peak_cpu_bytes(fn):
    """(peak bytes, fn()): the CPU allocator's allocations and frees during fn, as PyTorch's profiler records
    them (profile_memory=True), summed in time order; the peak of that running sum."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak, result


def sdxl_qk(n_query, heads=20):
    """An SDXL attn2 call at the largest map level: 2 × n_query queries, 77 keys, head dim 64, fp16."""
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, heads, n_query, 64, generator=g).mul_(1.6).half()
    return q, torch.randn(2, heads, 77, 64, generator=g).half()


def extra_bytes(q, k, **kwargs):
    peak, maps = peak_cpu_bytes(lambda: word_attention_maps(q, k, WORDS, 1.5, 2.0, **kwargs))
    return peak - sum(m.numel() * m.element_size() for m in maps)


def test_peak_extra_memory_at_sdxl_1024_is_under_64_mib():
    extra = extra_bytes(*sdxl_qk(4096))
    assert 0 < extra <= 32 << 20  # MEMORY_BUDGET; the bound is 64 MiB


@pytest.mark.parametrize("budget", [2 << 20, 6 << 20])
def test_peak_extra_memory_stays_within_a_lowered_budget(budget):
    q, k = sdxl_qk(1024, heads=10)
    assert extra_bytes(q, k) > 8 << 20  # the default budget would take more: the bound is what limits it
    assert extra_bytes(q, k, memory_budget=budget) <= budget
