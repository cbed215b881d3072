"""Shared helpers: tiny random transformers models (no download) and attention recomputed from a trace."""
import json
import os

import pytest
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VOCAB = 97


def _configs():
    import transformers as tf

    common = dict(vocab_size=VOCAB, num_hidden_layers=2, max_position_embeddings=64, attn_implementation="eager")
    decoder = dict(common, hidden_size=48, intermediate_size=64, rope_theta=10000.0, tie_word_embeddings=False)
    return {
        # name: (config, model class, path of the layers, attribute path of the output projection in a layer)
        "bert": (tf.BertConfig(hidden_size=32, num_attention_heads=4, intermediate_size=64, **common),
                 tf.BertModel, "encoder.layer", "attention.output.dense"),
        "roberta": (tf.RobertaConfig(hidden_size=32, num_attention_heads=4, intermediate_size=64, pad_token_id=1,
                                     **dict(common, max_position_embeddings=70)),
                    tf.RobertaModel, "encoder.layer", "attention.output.dense"),
        "gpt2": (tf.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=0, eos_token_id=0,
                               attn_implementation="eager"),
                 tf.GPT2LMHeadModel, "transformer.h", "attn.c_proj"),
        "opt": (tf.OPTConfig(hidden_size=32, num_attention_heads=4, ffn_dim=64, word_embed_proj_dim=32, **common),
                tf.OPTForCausalLM, "model.decoder.layers", "self_attn.out_proj"),
        "llama": (tf.LlamaConfig(num_attention_heads=4, num_key_value_heads=2, **decoder),
                  tf.LlamaForCausalLM, "model.layers", "self_attn.o_proj"),
        "mistral": (tf.MistralConfig(num_attention_heads=4, num_key_value_heads=1, sliding_window=None, **decoder),
                    tf.MistralForCausalLM, "model.layers", "self_attn.o_proj"),
        "qwen2": (tf.Qwen2Config(num_attention_heads=6, num_key_value_heads=2, **decoder),
                  tf.Qwen2ForCausalLM, "model.layers", "self_attn.o_proj"),
    }


ARCHITECTURES = ["bert", "roberta", "gpt2", "opt", "llama", "mistral", "qwen2"]
DECODERS = ["gpt2", "opt", "llama", "mistral", "qwen2"]


def tiny_model(name, seed=0):
    """A 2-layer model of the architecture with random weights drawn large enough (std 0.3, norms
    around 1) that attention is far from uniform, so a wrong Q or K changes the probabilities visibly."""
    config, cls, layers, out_proj = _configs()[name]
    torch.manual_seed(seed)
    model = cls(config).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in pname.lower() or "ln" in pname.lower()) and pname.endswith("weight"):
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.3)
    return model, layers, out_proj


def sub(obj, path):
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def token_lists(seed=1, lengths=(9, 5, 12)):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(2, VOCAB, (n,), generator=g)).tolist() for n in lengths]


def load(path):
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return meta, tensors


def attention_from_trace(meta, tensors, s, l):
    """Probabilities [heads, T, T] and outputs [heads, T, d] recomputed in float64 from the saved Q/K/V
    with the saved scale, causality and GQA mapping (query head h reads KV head h // (heads/kv_heads))."""
    heads, kv = int(meta["heads"]), int(meta["kv_heads"])
    q = tensors[f"seq{s}.layer{l}.q"].double()
    k = tensors[f"seq{s}.layer{l}.k"].double().repeat_interleave(heads // kv, 0)
    v = tensors[f"seq{s}.layer{l}.v"].double().repeat_interleave(heads // kv, 0)
    t = q.shape[1]
    scores = float(meta["scale"]) * q @ k.transpose(1, 2)
    if meta["causal"] == "true":
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    p = torch.softmax(scores, -1)
    return p, p @ v


def prompt_tokens(meta):
    return json.loads(meta["prompt_tokens"])


@pytest.fixture(scope="session")
def attnsim_bin():
    """The release build of the Swift tool (Scripts/test builds it before running these tests)."""
    path = os.environ.get("ATTNSIM_BIN", os.path.join(REPO, ".build", "release", "attnsim"))
    assert os.access(path, os.X_OK), f"{path} not found: build it with `swift build -c release` (or set ATTNSIM_BIN)"
    return path


@pytest.fixture(scope="session")
def assets():
    path = os.environ.get("ATTNSIM_ASSETS", os.path.join(REPO, ".assets"))
    assert os.path.isfile(os.path.join(path, "minilm", "model.safetensors")), \
        f"MiniLM not found under {path}: run Scripts/fetch-assets (or set ATTNSIM_ASSETS)"
    return path
