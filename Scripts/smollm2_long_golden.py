#!/usr/bin/env python3
"""Long-context golden numbers for the Swift Llama decoder (Tests/Fixtures/decoder/smollm2_long.json):
SmolLM2 on up to 8,192 tokens of Macbeth (from line 300, the passage `attnsim eval` builds with
start_line 300 and that many tokens: lines joined with "\\n", cut to 8 x tokens characters, the first
8,192 ids), through the plain PyTorch Llama forward of Scripts/smollm2_logits_golden.py over the
GGUF's dequantized weights (float32, attention computed 512 query rows at a time), tokens from HF
`tokenizers` built from the GGUF vocabulary. Writes the ids, the mean next-token NLL of every
512-position bucket, the perplexity, the top-1 id of every position, and the top-10 logits of the
last position. The Swift side: `attnsim-bench --filter smollm2_prefill_8192` (docs/model.md).

    VENV=.venvs/pyrec; $VENV/bin/pip install torch==2.13.0 gguf numpy tokenizers
    ATTNSIM_ASSETS=... $VENV/bin/python Scripts/smollm2_long_golden.py [TOKENS]
"""
import json, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import smollm2_logits_golden as g  # noqa: E402

PLAY, START_LINE, BUCKET = "macbeth_gut.txt", 300, 512


def main():
    import torch
    torch.set_grad_enabled(False)
    tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
    r = g.load_gguf()
    tok = g.reference_tokenizer(r)
    fwd = g.torch_llama(r, query_block=512)
    with open(os.path.join(g.ASSETS, "text", "shakespeare", PLAY), encoding="utf-8", errors="replace", newline=None) as f:
        lines = f.read().split("\n")
    text = "\n".join(lines[START_LINE - 1:])[:8 * tokens]
    ids = tok.encode(text).ids[:tokens]
    assert len(ids) == tokens, len(ids)
    t0 = time.time()
    logits = fwd(ids)
    seconds = time.time() - t0
    nll, top1 = [], []
    for i in range(0, tokens - 1, 1024):
        lp = torch.log_softmax(logits[i:min(i + 1024, tokens - 1)].double(), -1)
        nxt = torch.tensor(ids[i + 1:i + 1 + lp.shape[0]])
        nll += (-lp[torch.arange(lp.shape[0]), nxt]).tolist()
        top1 += lp.argmax(-1).tolist()
    top1.append(int(logits[-1].argmax()))
    buckets = [sum(nll[i:i + BUCKET]) / len(nll[i:i + BUCKET]) for i in range(0, len(nll), BUCKET)]
    last = torch.topk(logits[-1], 10)
    # Mean NLL of the positions a decode run of `attnsim eval` scores (prompt_tokens = tokens - 256:
    # the predictions of the last 255 tokens), for docs/results.md's float baseline. A causal
    # model's first L positions are an L-token passage's, so shorter passages' figures come too.
    tail = nll[-255:]
    prefixes = {str(n): {"perplexity": float(torch.exp(torch.tensor(nll[:n - 1], dtype=torch.float64).mean())),
                         "decode_tail_mean_nll": sum(nll[n - 256:n - 1]) / 255}
                for n in (1024, 2048, 4096, 8128, 8192) if n <= tokens}
    out = {"decode_tail_mean_nll": sum(tail) / len(tail), "prefixes": prefixes, "file": PLAY, "start_line": START_LINE, "tokens": tokens, "ids": ids, "bucket": BUCKET,
           "bucket_mean_nll": buckets, "perplexity": float(torch.exp(torch.tensor(nll, dtype=torch.float64).mean())),
           "top1": top1, "last_top_ids": last.indices.tolist(), "last_top_values": last.values.tolist(),
           "torch": torch.__version__, "forward_seconds": round(seconds, 1)}
    path = os.path.join(g.FIX, "smollm2_long.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"{tokens} tokens: perplexity {out['perplexity']:.4f}, forward {seconds:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
