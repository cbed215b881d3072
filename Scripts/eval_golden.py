#!/usr/bin/env python3
"""Golden figures for `attnsim eval`'s float baselines, from independent references: PyTorch
`transformers.BertModel` embeddings of the movie-review snippets with a numpy logistic-regression
probe, and a plain PyTorch Llama forward (Scripts/smollm2_logits_golden.py) for SmolLM2 perplexity
on the eval passages, tokenized by HF `tokenizers`.

    Scripts/fetch-assets
    python3 -m venv /tmp/attnsim-ref && /tmp/attnsim-ref/bin/pip install torch==2.13.0 numpy safetensors gguf tokenizers transformers
    /tmp/attnsim-ref/bin/python Scripts/eval_golden.py

The split and the passages follow the definitions in docs/eval.md (and the Swift code): reviews with
|rating| >= 0.5 shuffled by SplitMix64(seed) with Fisher-Yates (j = next() % (i + 1), i from n-1 down
to 1), the first `test` are the test split, the next `train` (0: all) the training split; the probe
is Newton's method on mean log-loss + l2/2 |w|^2 over standardized features (bias unregularized).
A passage is the file's lines from `start_line` joined by "\\n", cut to 8 * tokens characters,
tokenized, first `tokens` ids. Writes Tests/Fixtures/eval/eval_golden.json.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
ASSETS = os.environ.get("ATTNSIM_ASSETS", os.path.join(ROOT, ".assets"))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "eval", "eval_golden.json")
MASK = (1 << 64) - 1

# The splits the Swift tests (small) and docs/results.md (full) use.
SPLITS = [dict(seed=1, test=300, train=1000, min_abs=0.5, l2=1e-3),
          dict(seed=1, test=2000, train=0, min_abs=0.5, l2=1e-3)]
PASSAGES = [dict(file="macbeth_gut.txt", start_line=1000, tokens=64),
            dict(file="othello_gut.txt", start_line=1000, tokens=64),
            dict(file="macbeth_gut.txt", start_line=1000, tokens=256),
            dict(file="othello_gut.txt", start_line=1000, tokens=256)]


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = self.next() % (i + 1)
            a[i], a[j] = a[j], a[i]


def reviews():
    path = os.path.join(ASSETS, "text", "movieReviewSnippets_GroundTruth.txt")
    out = []
    with open(path, encoding="utf-8", newline=None) as f:
        for n, line in enumerate(f.read().split("\n"), start=1):
            if not line.strip():
                continue
            _, rating, text = line.split("\t", 2)
            out.append((n, float(rating), text))
    return out


def split(rs, s):
    labelled = [r for r in rs if abs(r[1]) >= s["min_abs"]]
    SplitMix64(s["seed"]).shuffle(labelled)
    test = labelled[:s["test"]]
    rest = labelled[s["test"]:]
    train = rest if s["train"] == 0 else rest[:s["train"]]
    return train, test


def probe(X, y, l2, iterations=50):
    mean = X.mean(0)
    std = np.maximum(X.std(0), 1e-12)
    Z = np.hstack([np.ones((len(X), 1)), (X - mean) / std])
    w = np.zeros(Z.shape[1])
    reg = np.full(Z.shape[1], l2)
    reg[0] = 0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(Z @ w)))
        g = Z.T @ (p - y) / len(X) + reg * w
        H = (Z * (p * (1 - p))[:, None]).T @ Z / len(X) + np.diag(reg)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return lambda A: ((A - mean) / std) @ w[1:] + w[0] > 0


def embed(texts, model, tok, torch):
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    out = np.zeros((len(texts), 384))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for b in range(0, len(order), 64):
        idx = order[b:b + 64]
        encs = [tok.encode(texts[i], add_special_tokens=True).ids for i in idx]
        T = max(map(len, encs))
        ids = torch.tensor([e + [0] * (T - len(e)) for e in encs])
        mask = torch.tensor([[1] * len(e) + [0] * (T - len(e)) for e in encs])
        h = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
        out[idx] = emb.double().numpy()
    return out


def sentiment():
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel
    torch.set_grad_enabled(False)
    model_dir = os.path.join(ASSETS, "minilm")
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager", add_pooling_layer=False).eval()
    rs = reviews()
    results = []
    for s in SPLITS:
        train, test = split(rs, s)
        Xtr = embed([t for _, _, t in train], model, tok, torch)
        Xte = embed([t for _, _, t in test], model, tok, torch)
        ytr = np.array([r > 0 for _, r, _ in train], dtype=float)
        yte = np.array([r > 0 for _, r, _ in test])
        f = probe(Xtr, ytr, s["l2"])
        pred = f(Xte)
        acc = float((pred == yte).mean())
        results.append(dict(s, train_count=len(train), test_lines=[n for n, _, _ in test][:50],
                            train_lines=[n for n, _, _ in train][:50], accuracy=acc,
                            train_accuracy=float((f(Xtr) == (ytr > 0)).mean()),
                            predictions="".join("1" if p else "0" for p in pred)))
        print(f"sentiment seed {s['seed']} test {len(test)} train {len(train)}: accuracy {acc:.4f}")
    return results


def perplexity():
    import torch
    sys.path.insert(0, HERE)
    import smollm2_logits_golden as g
    torch.set_grad_enabled(False)
    r = g.load_gguf()
    tok = g.reference_tokenizer(r)
    fwd = g.torch_llama(r)
    results = []
    for p in PASSAGES:
        path = os.path.join(ASSETS, "text", "shakespeare", p["file"])
        with open(path, encoding="utf-8", errors="replace", newline=None) as f:
            lines = f.read().split("\n")
        text = "\n".join(lines[p["start_line"] - 1:])[:8 * p["tokens"]]
        ids = tok.encode(text).ids[:p["tokens"]]
        lp = torch.log_softmax(fwd(ids).double(), -1)
        nll = -lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
        results.append(dict(p, ids=ids, nll_sum=float(nll.sum()), perplexity=float(torch.exp(nll.mean()))))
        print(f"perplexity {p['file']} from line {p['start_line']}, {p['tokens']} tokens: {results[-1]['perplexity']:.4f}")
    return results


if __name__ == "__main__":
    out = {"sentiment": sentiment(), "perplexity": perplexity()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", OUT)
