#!/usr/bin/env python3
"""Golden fixtures for the Swift BERT encoder and WordPiece tokenizer, from the independent references
(HF `tokenizers` loading the model's own tokenizer.json, and PyTorch `transformers.BertModel`).

    Scripts/fetch-assets
    ${ATTNSIM_REF_VENV:-/work/.venvs/ref}/bin/python Scripts/encoder_golden.py
    # the venv needs: torch (CPU), transformers, tokenizers, safetensors, numpy

Reads $ATTNSIM_ASSETS (default <repo>/.assets)/minilm and .../text/movieReviewSnippets_GroundTruth.txt.
Writes Tests/Fixtures/encoder/:
  movie_review_ids.txt   one line per movie-review sentence (all 10,605, in file order): the token ids
                         HF `tokenizers` gives with [CLS]/[SEP], no truncation, no padding, space-separated.
                         A sentence is the third tab-separated field of a line, with a trailing CR removed.
  tokenizer_cases.json   hand-written edge cases (accents, CJK, control/format chars, punctuation,
                         special tokens in the text, over-long words) with their HF ids.
  minilm_golden.safetensors  for 6 sentences not used anywhere else (metadata "sentences": JSON list):
                         s{i}.ids [T] I32, s{i}.hidden [T,384] F32 (last hidden state), s{i}.pooled [384]
                         (mean over tokens, sentence-transformers style), s{i}.embedding [384] (L2-normalized
                         pooled), s{PROBS}.probs_l0h0 [T,T] (layer 0 head 0 softmax probabilities), and
                         batch.hidden [2,Tmax,384] + batch.mask [2,Tmax] I32 for a right-padded batch of
                         sentences 1 and 3 run together (padding mask).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import Tokenizer
from transformers import BertModel

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
assets = os.environ.get("ATTNSIM_ASSETS", os.path.join(root, ".assets"))
model_dir = os.path.join(assets, "minilm")
reviews = os.path.join(assets, "text", "movieReviewSnippets_GroundTruth.txt")
out = os.path.join(root, "Tests", "Fixtures", "encoder")
os.makedirs(out, exist_ok=True)
if not os.path.isfile(os.path.join(model_dir, "tokenizer.json")) or not os.path.isfile(reviews):
    sys.exit(f"encoder_golden.py: assets missing in {assets}; run Scripts/fetch-assets first")

tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.no_truncation()
tok.no_padding()

# 1. The whole movie-review file.
text = open(reviews, "rb").read().decode("utf-8")
sentences = [line.rstrip("\r").split("\t", 2)[2] for line in text.split("\n")]
assert len(sentences) == 10605, len(sentences)
encs = tok.encode_batch(sentences, add_special_tokens=True)
with open(os.path.join(out, "movie_review_ids.txt"), "w") as f:
    for e in encs:
        f.write(" ".join(map(str, e.ids)) + "\n")

# 2. Edge cases.
cases = [
    "Héllo, Wörld! Ça va? naïve café résumé",
    "ÅNGSTRÖM İstanbul ǅemal ΣΊΣΥΦΟΣ ﬁne ｆｕｌｌｗｉｄｔｈ",
    "中文字符和English混合 日本語のテキスト 한국어 텍스트",
    "tab\there\nnewline\r\nand\u00a0nbsp\u2003em\u2028line\u3000ideo",
    "zero\u200bwidth soft\u00adhyphen bom\ufeffx ctrl\u0001\u0007\u007f\u0085 repl\ufffd nul\u0000end",
    "Punctuation: \"quotes\" 'single' (parens) [brackets] {braces} <angle> a/b a\\b a|b a~b a^b a`b $5 #1 @me 50% & * + = _under_",
    "Unicode punct: « guillemets » „low“ “curly” ‘single’ — dash – endash … ellipsis ¿qué? ¡sí! · • † ‡ § ¶ © ® ™ ° ± × ÷ € £ ¥",
    "[CLS] literal [SEP] and [MASK] and [UNK] and [PAD] inside[MASK]text [cls] lower",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 100 + " " + "y" * 101 + " " + "ab" * 60,
    "emoji 😀👍🏽 and math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√∞ and arrows → ← ⇒",
    "ext \U0002B820\U0002B91F\U0002B920 cjk-compat \uf900 ext-b \U00020000",
    "",
    "   ",
    "a",
    "Ünïcödé ÀÉÎÕÜ ĀĒĪŌŪ ąęłńśźż ŞĞÇ ØÆœß đĐ ħ ŀ",
    "don't won't it's I'm they're y'all rock'n'roll 1,000,000.50 3.14e-10 U.S.A. e-mail",
]
with open(os.path.join(out, "tokenizer_cases.json"), "w") as f:
    json.dump([{"text": c, "ids": tok.encode(c, add_special_tokens=True).ids} for c in cases], f,
              ensure_ascii=True, indent=0)

# 3. Model outputs for 6 held-out sentences.
held_out = [
    "A quiet lighthouse keeper finds a message in a bottle, and everything changes.",
    "Ok.",
    "Café owners in Zürich said the crème brûlée was « magnifique » — naïvely, perhaps!",
    "Why would anyone (honestly?) spend $12.50 on this; it's 3/10 at best...",
    "The committee reviewed the proposal at length, weighing the costs of maintenance against the "
    "benefits of expansion, and after several hours of debate, interrupted only by a brief power "
    "outage and a fire drill that nobody had scheduled, it concluded that the bridge should be "
    "rebuilt in stone rather than steel, because the older structure had lasted two centuries while "
    "its modern neighbours were already rusting after thirty years.",
    "Transformers use attention; pruning small probabilities saves energy.",
]
PROBS = 3  # sentence whose layer-0 head-0 attention probabilities are stored

model = BertModel.from_pretrained(model_dir, attn_implementation="eager", add_pooling_layer=False)
model.eval()
torch.set_grad_enabled(False)

fixture = {}


def mean_pool(hidden, mask):
    # sentence-transformers Pooling(mean): sum(h * m) / clamp(sum(m), 1e-9)
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


for i, s in enumerate(held_out):
    ids = tok.encode(s, add_special_tokens=True).ids
    x = torch.tensor([ids])
    mask = torch.ones_like(x)
    o = model(input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x), output_attentions=True)
    h = o.last_hidden_state
    pooled = mean_pool(h, mask)
    emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
    fixture[f"s{i}.ids"] = np.array(ids, dtype=np.int32)
    fixture[f"s{i}.hidden"] = h[0].numpy().astype(np.float32)
    fixture[f"s{i}.pooled"] = pooled[0].numpy().astype(np.float32)
    fixture[f"s{i}.embedding"] = emb[0].numpy().astype(np.float32)
    if i == PROBS:
        fixture[f"s{i}.probs_l0h0"] = o.attentions[0][0, 0].numpy().astype(np.float32)

# A right-padded batch of sentences 1 and 3 (different lengths).
b = [tok.encode(held_out[j], add_special_tokens=True).ids for j in (1, 3)]
tmax = max(map(len, b))
ids = torch.tensor([r + [0] * (tmax - len(r)) for r in b])
mask = torch.tensor([[1] * len(r) + [0] * (tmax - len(r)) for r in b])
o = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
fixture["batch.hidden"] = o.last_hidden_state.numpy().astype(np.float32)
fixture["batch.mask"] = mask.numpy().astype(np.int32)

meta = {"sentences": json.dumps(held_out), "probs_sentence": str(PROBS),
        "made_by": "Scripts/encoder_golden.py", "torch": torch.__version__}
save_file(fixture, os.path.join(out, "minilm_golden.safetensors"), metadata=meta)
for name in sorted(os.listdir(out)):
    print(f"{os.path.join(out, name)}: {os.path.getsize(os.path.join(out, name))} bytes")
