#!/usr/bin/env python3
"""Golden token ids for AttnSim's byte-level BPE tokenizer: the Hugging Face `tokenizers` library,
configured like SmolLM2's tokenizer.json (ByteLevel BPE; pre-tokenizer Sequence[Digits(individual),
ByteLevel(add_prefix_space=False, use_regex=True)]) and built from the GGUF's own vocabulary and
merges, on 300 Shakespeare lines and hand-picked edge cases.

    Scripts/fetch-assets && $VENV/bin/pip install gguf tokenizers numpy && $VENV/bin/python Scripts/decoder_golden.py
"""
import json
import os

from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ASSETS = os.environ.get("ATTNSIM_ASSETS", os.path.join(ROOT, ".assets"))
r = GGUFReader(os.path.join(ASSETS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
f = r.fields
tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.tokens"].data]
merges = [bytes(f["tokenizer.ggml.merges"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.merges"].data]
tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[tuple(m.split(" ", 1)) for m in merges]))
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
tok.decoder = decoders.ByteLevel()

lines = open(os.path.join(ASSETS, "text", "shakespeare", "hamlet_gut.txt"), encoding="utf-8", errors="replace").read().splitlines()
texts = [l for l in lines[200:1200] if l.strip()][:300]
texts += [
    "The capital of France is", "In 1984, 12345 people paid $3.50 each.", "don't you'll I'M we've they'd",
    "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n  indented", "héllo wörld — naïve café",
    "日本語のテキスト", "emoji 🎉🚀 ok", "a'b 'quoted' '' ''s", "x²³ ½ ٣ Ⅻ", "   ", "", "snake_case and CamelCase",
    "email@example.com http://x.y/z?q=1&r=2", "!!!???...", "\u00a0nbsp\u2003em-space",
]
cases = [{"text": t, "ids": tok.encode(t).ids} for t in texts]
json.dump(cases, open(os.path.join(ROOT, "Tests", "Fixtures", "decoder", "bpe_cases.json"), "w"), ensure_ascii=False)
print(len(cases), "cases; capital of France:", tok.encode("The capital of France is").ids)
