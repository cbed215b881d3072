"""The recorder on tiny random models of each architecture: attention recomputed from the saved trace
(Q, K, V, scale, causality, GQA mapping) equals the model's own attention probabilities
(`output_attentions=True`, eager attention) and the input of its attention output projection."""
import inspect

import pytest
import torch

import attnsim_trace
from conftest import ARCHITECTURES, DECODERS, attention_from_trace, load, prompt_tokens, sub, tiny_model, token_lists

GENERATE = 4
TOL = 1e-5


def reference_passes(model, layers_path, out_proj, ids, generate):
    """Runs the model itself (no recorder) over the prompt and `generate` greedy steps with the KV cache;
    returns per pass the attention probabilities per layer [heads, rows, keys] and the attention
    outputs per layer [rows, heads*d] (the input of the output projection)."""
    layers = sub(model, layers_path)
    outs = {}
    hooks = [sub(layer, out_proj).register_forward_pre_hook(
        lambda _m, args, l=l: outs.__setitem__(l, args[0][0].detach().double().clone())) for l, layer in enumerate(layers)]
    passes, cache, tokens = [], None, list(ids)
    cache_name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    try:
        with torch.no_grad():
            x = torch.tensor([ids])
            for step in range(generate + 1):
                kwargs = {cache_name: cache} if cache is not None else {}
                o = model(input_ids=x, output_attentions=True, use_cache=generate > 0, **kwargs)
                passes.append(([a[0].double() for a in o.attentions], [outs[l] for l in range(len(layers))]))
                if step < generate:
                    cache = o.cache if getattr(o, "cache", None) is not None else o.past_key_values
                    nxt = int(o.logits[0, -1].argmax())
                    tokens.append(nxt)
                    x = torch.tensor([[nxt]])
    finally:
        for h in hooks:
            h.remove()
    return passes, tokens


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_trace_reproduces_model_attention(arch, tmp_path):
    model, layers_path, out_proj = tiny_model(arch)
    generate = GENERATE if arch in DECODERS else 0
    seqs = token_lists()
    path = str(tmp_path / f"{arch}.safetensors")
    attnsim_trace.record(model, seqs, generate=generate, out=path, dtype="f32", source="random tokens")
    meta, tensors = load(path)

    cfg = model.config
    heads = cfg.num_attention_heads
    kv = getattr(cfg, "num_key_value_heads", None) or heads
    assert meta["format"] == "attnsim-trace" and meta["version"] == "1"
    assert meta["recorder"].startswith(f"attnsim_trace {attnsim_trace.__version__} (torch ")
    assert meta["architecture"] == cfg.model_type and meta["source"] == "random tokens" and meta["dtype"] == "F32"
    assert (int(meta["layers"]), int(meta["heads"]), int(meta["kv_heads"])) == (2, heads, kv)
    assert int(meta["head_dim"]) * heads == cfg.hidden_size
    assert meta["causal"] == ("true" if arch in DECODERS else "false")
    assert prompt_tokens(meta) == [len(ids) for ids in seqs] and meta["sequences"] == str(len(seqs))
    # OPT scales q before the attention call and calls it with scale 1.0: the trace keeps both as the unit sees them.
    expected_scale = 1.0 if arch == "opt" else (cfg.hidden_size // heads) ** -0.5
    assert float(meta["scale"]) == pytest.approx(expected_scale, rel=1e-7)
    assert len(tensors) == len(seqs) * (1 + 3 * 2)

    for s, ids in enumerate(seqs):
        passes, tokens = reference_passes(model, layers_path, out_proj, ids, generate)
        assert tensors[f"seq{s}.tokens"].tolist() == tokens
        if generate:
            greedy = model.generate(torch.tensor([ids]), max_new_tokens=generate, do_sample=False,
                                    attention_mask=torch.ones(1, len(ids), dtype=torch.long))
            assert greedy[0].tolist() == tokens
        p0 = len(ids)
        for l in range(2):
            probs, outs = attention_from_trace(meta, tensors, s, l)
            t = probs.shape[1]
            assert t == p0 + generate
            for step, (attn, out) in enumerate(passes):
                rows = range(p0) if step == 0 else [p0 + step - 1]
                r0, r1 = rows[0], rows[-1] + 1
                keys = r1
                want = attn[l]                                 # [heads, rows, keys]
                got = probs[:, r0:r1, :keys]
                assert want.shape == got.shape, (step, l)
                assert (got - want).abs().max() <= TOL, (arch, s, l, step, float((got - want).abs().max()))
                got_out = outs[:, r0:r1, :].transpose(0, 1).reshape(r1 - r0, -1)
                assert (got_out - out[l]).abs().max() <= TOL, (arch, s, l, step, float((got_out - out[l]).abs().max()))
                if probs.shape[2] > keys:
                    assert probs[:, r0:r1, keys:].abs().max() == 0       # causal: nothing after the row
        # The check can fail: keys shifted by one position change the probabilities far beyond the tolerance.
        shifted = dict(tensors)
        shifted[f"seq{s}.layer1.k"] = tensors[f"seq{s}.layer1.k"].roll(1, dims=1)
        wrong, _ = attention_from_trace(meta, shifted, s, 1)
        assert (wrong[:, :p0, :p0] - passes[0][0][1]).abs().max() > 1e-2


@pytest.mark.parametrize("arch", ["bert", "gpt2", "llama", "qwen2"])
def test_capture_does_not_depend_on_the_attention_implementation(arch, tmp_path):
    """sdpa (transformers' default) and eager receive the same query/key/value."""
    model, _, _ = tiny_model(arch)
    seqs = token_lists(lengths=(7, 10))
    generate = 3 if arch in DECODERS else 0
    eager = attnsim_trace.record(model, seqs, generate=generate)
    model.set_attn_implementation("sdpa")
    assert model.config._attn_implementation == "sdpa"
    sdpa = attnsim_trace.record(model, seqs, generate=generate)
    assert [t for t, _, _ in sdpa.sequences] == [t for t, _, _ in eager.sequences]
    for (_, _, a), (_, _, b) in zip(eager.sequences, sdpa.sequences):
        for la, lb in zip(a, b):
            for x, y in zip(la, lb):
                assert (x - y).abs().max() <= 1e-5


def test_gqa_is_kept_as_kv_heads_and_rope_is_applied(tmp_path):
    """Qwen2 (6 query heads, 2 KV heads): K is stored once per KV head, and it is K after RoPE — the
    pre-RoPE projection differs from it except at position 0, where the rotation is the identity."""
    model, _, _ = tiny_model("qwen2")
    ids = token_lists(lengths=(8,))
    trace = attnsim_trace.record(model, ids)
    q, k, v = trace.sequences[0][2][0]
    assert tuple(q.shape) == (6, 8, 8) and tuple(k.shape) == (2, 8, 8) and tuple(v.shape) == (2, 8, 8)
    attn = model.model.layers[0].self_attn
    with torch.no_grad():
        h = model.model.layers[0].input_layernorm(model.model.embed_tokens(torch.tensor(ids)))
        k_raw = attn.k_proj(h)[0].view(8, 2, 8).transpose(0, 1)
        v_raw = attn.v_proj(h)[0].view(8, 2, 8).transpose(0, 1)
    assert (v - v_raw).abs().max() <= 1e-6
    assert (k[:, 0] - k_raw[:, 0]).abs().max() <= 1e-6
    assert (k[:, 1:] - k_raw[:, 1:]).abs().max() > 1e-2
    # RoPE preserves each 2-D rotation pair's norm (rotate_half pairs dims i and i + d/2).
    norm = lambda x: x[..., :4] ** 2 + x[..., 4:] ** 2  # noqa: E731
    assert (norm(k) - norm(k_raw)).abs().max() <= 1e-5


def test_plain_pytorch_module_hook(tmp_path):
    """A plain module that calls attnsim_trace.scaled_dot_product_attention (the documented hook point),
    with a KV cache and GQA, records prompt and decode rows like a transformers model."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = torch.nn.Linear(16, 4 * 4 + 2 * 2 * 4)

        def forward(self, x, cache):
            t = x.shape[1]
            q, k, v = self.qkv(x).split([16, 8, 8], -1)
            q = q.view(1, t, 4, 4).transpose(1, 2)
            k = k.view(1, t, 2, 4).transpose(1, 2)
            v = v.view(1, t, 2, 4).transpose(1, 2)
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
            o = attnsim_trace.scaled_dot_product_attention(q, k, v, is_causal=t > 1, enable_gqa=True)
            return x + o.transpose(1, 2).reshape(1, t, 16)

    torch.manual_seed(0)
    blocks = torch.nn.ModuleList([Block(), Block(), Block()])
    x = torch.randn(1, 6, 16)
    rec = attnsim_trace.Recorder()
    caches = [[] for _ in blocks]
    with torch.no_grad():
        with rec.forward(0, list(range(6))):
            h = x
            for b, c in zip(blocks, caches):
                h = b(h, c)
        for step in range(2):
            with rec.forward(0, [6 + step]):
                h2 = h[:, -1:]
                for b, c in zip(blocks, caches):
                    h2 = b(h2, c)
    path = str(tmp_path / "plain.safetensors")
    rec.trace(model="plain", architecture="custom").save(path, dtype="f32")
    meta, tensors = load(path)
    assert (meta["layers"], meta["heads"], meta["kv_heads"], meta["head_dim"], meta["causal"]) == ("3", "4", "2", "4", "true")
    assert prompt_tokens(meta) == [6] and tensors["seq0.tokens"].tolist() == list(range(8))
    assert float(meta["scale"]) == pytest.approx(0.5)
    # Layer 0 of the prompt, recomputed independently from the module's weights.
    with torch.no_grad():
        q, k, v = blocks[0].qkv(x)[0].split([16, 8, 8], -1)
    assert (tensors["seq0.layer0.q"][:, :6] - q.view(6, 4, 4).transpose(0, 1)).abs().max() <= 1e-6
    assert (tensors["seq0.layer0.k"][:, :6] - k.view(6, 2, 4).transpose(0, 1)).abs().max() <= 1e-6
    assert tuple(tensors["seq0.layer2.v"].shape) == (2, 8, 4)


def test_plain_module_outside_a_pass_only_computes():
    q, k, v = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4)
    got = attnsim_trace.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.equal(got, torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_f16_trace_is_the_f32_trace_rounded(tmp_path):
    model, _, _ = tiny_model("llama")
    seqs = token_lists(lengths=(6,))
    trace = attnsim_trace.record(model, seqs, generate=2)
    trace.save(str(tmp_path / "a.safetensors"))
    trace.save(str(tmp_path / "b.safetensors"), dtype="f32")
    m16, t16 = load(str(tmp_path / "a.safetensors"))
    m32, t32 = load(str(tmp_path / "b.safetensors"))
    assert m16["dtype"] == "F16" and m32["dtype"] == "F32" and t16["seq0.layer1.q"].dtype == torch.float16
    for name in t32:
        if name.endswith(("q", "k", "v")):
            assert torch.equal(t16[name], t32[name].half())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "b.safetensors"]   # no temporary left
