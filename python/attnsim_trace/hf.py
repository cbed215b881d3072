"""Recording a Hugging Face transformers model: one forward pass per prompt, then greedy decode steps."""
from __future__ import annotations

import torch

from .recorder import Recorder, capture_transformers
from .trace import RecordError, Trace


def record(model, sequences, *, generate: int = 0, out: str | None = None, dtype: str = "f16",
           model_name: str | None = None, architecture: str | None = None, source: str | None = None,
           extras: dict | None = None) -> Trace:
    """Records what the attention unit of `model` sees for each token-id list in `sequences`.

    `model` is a transformers model object (e.g. `BertModel`, `GPT2LMHeadModel`,
    `LlamaForCausalLM`) in eval mode on any device. Each sequence runs as its own batch-of-one forward
    pass (its prompt rows); with `generate` = N > 0 (causal language models only) N tokens follow,
    each chosen greedily (argmax of the last logits) and fed back one at a time with the KV cache, so
    the trace holds the prompt rows followed by N decode rows, as `attnsim record --generate N` does.
    The metadata names the model (`model_name`, default `config.name_or_path` or the class name), the
    architecture (`config.model_type`), the recorder and its version, and optional `source`/`extras`.
    Writes the trace to `out` (atomically) if given; returns it either way."""
    if not isinstance(model, torch.nn.Module):
        raise RecordError(f"model: expected a torch.nn.Module (a transformers model), got {type(model).__name__}")
    if model.training:
        raise RecordError("model is in training mode (dropout would change what is recorded): call model.eval() first")
    if isinstance(generate, bool) or not isinstance(generate, int) or generate < 0:
        raise RecordError(f"generate: expected a non-negative integer, got {generate!r}")
    seqs = _token_lists(sequences)
    config = getattr(model, "config", None)
    device = _device(model)
    cache_name = _cache_argument(model)
    rec = Recorder()
    with torch.no_grad(), capture_transformers(model):
        for s, ids in enumerate(seqs):
            with rec.forward(s, ids):
                output = model(input_ids=torch.tensor([ids], device=device), use_cache=generate > 0)
            if generate == 0:
                continue
            logits = getattr(output, "logits", None)
            cache = _cache_of(output)
            if logits is None or cache is None:
                raise RecordError(f"generate={generate}: {type(model).__name__} returns no logits and KV cache "
                                  "(use a causal language model class, e.g. AutoModelForCausalLM)")
            if rec.causal is False:
                raise RecordError(f"generate={generate}: the model's attention is bidirectional; only a causal model decodes")
            for _ in range(generate):
                token = int(logits[0, -1].argmax())
                with rec.forward(s, [token]):
                    output = model(input_ids=torch.tensor([[token]], device=device), use_cache=True,
                                   **{cache_name: cache})
                logits, cache = output.logits, _cache_of(output)
    meta = dict(extras or {})
    if source is not None:
        meta["source"] = source
    trace = rec.trace(model=model_name or _model_name(model, config),
                      architecture=architecture or getattr(config, "model_type", None) or type(model).__name__,
                      extras=meta)
    if config is not None and hasattr(config, "num_hidden_layers") and trace.layers != config.num_hidden_layers:
        raise RecordError(f"the recorder saw {trace.layers} attention calls per forward pass but the config has "
                          f"{config.num_hidden_layers} layers (some layers compute attention outside transformers' "
                          "AttentionInterface, e.g. GPT-2 with reorder_and_upcast_attn under eager attention)")
    if out is not None:
        trace.save(out, dtype=dtype)
    return trace


def _token_lists(sequences):
    if isinstance(sequences, torch.Tensor):
        sequences = sequences.tolist() if sequences.dim() == 2 else [sequences.tolist()]
    try:
        seqs = [[int(t) for t in ids] for ids in sequences]
    except (TypeError, ValueError):
        raise RecordError("sequences: expected a list of token-id lists (or a 2-D tensor of token ids)") from None
    if not seqs:
        raise RecordError("sequences: nothing to record")
    for s, ids in enumerate(seqs):
        if not ids:
            raise RecordError(f"sequences[{s}] has no tokens")
    return seqs


def _cache_argument(model):
    """The KV-cache keyword of the model's forward: `cache` (transformers >= 5.2x) or `past_key_values`."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(output):
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def _device(model):
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _model_name(model, config):
    name = getattr(config, "name_or_path", "") or ""
    return name.rstrip("/").split("/")[-1] if name else type(model).__name__
