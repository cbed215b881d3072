"""Capturing what the attention unit sees: Q and K after any rotary embedding, V, per layer and head.

A `Recorder` collects rows during *forward passes* (`with recorder.forward(sequence, token_ids):`).
Inside a pass, the n-th attention call is layer n. The first pass of a sequence is its prompt
(prefill); every later pass of the same sequence is one decode step and must add exactly one row.

Attention calls reach the recorder through one of two hook points:
- `capture_transformers()` (used by `attnsim_trace.record`): wraps the function that Hugging Face
  `transformers` models look up through `AttentionInterface.get_interface` (eager, sdpa, flash, ...).
  That function receives query/key/value after RoPE and after the KV-cache update, with key/value
  still in KV heads (grouped-query attention not yet repeated), plus the mask and the softmax scale.
- `scaled_dot_product_attention(...)` (plain PyTorch modules): a drop-in replacement for
  `torch.nn.functional.scaled_dot_product_attention` that records inside a forward pass and computes
  attention with torch's function; `record_attention(...)` records without computing.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass, field

import torch

from .trace import RecordError, Trace

_current: contextvars.ContextVar["Recorder | None"] = contextvars.ContextVar("attnsim_trace_recorder", default=None)


@dataclass
class _Layer:
    q: list = field(default_factory=list)   # chunks [heads, t, d] float32
    k: list = field(default_factory=list)   # chunks [kv_heads, t, d]
    v: list = field(default_factory=list)
    rows: int = 0


@dataclass
class _Sequence:
    tokens: list
    prompt_tokens: int
    layers: list = field(default_factory=list)   # _Layer per layer
    passes: int = 0


class Recorder:
    """Accumulates Q/K/V rows per (sequence, layer) and builds a `Trace`."""

    def __init__(self):
        self._sequences: dict[int, _Sequence] = {}
        self._pass: dict | None = None       # the forward pass in progress
        self.heads = self.kv_heads = self.head_dim = self.layers = None
        self.causal = None
        self._causal_hint = None             # from single-row calls, used when no call had more rows
        self.scale = None
        self._layer_modules: list = []        # the module object of each layer (HF capture), to check the order

    # -- forward passes ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def forward(self, sequence: int, token_ids):
        """Records the attention calls of one forward pass over `token_ids` (the new tokens of this pass)."""
        token_ids = [int(t) for t in token_ids]
        if not token_ids:
            raise RecordError(f"sequence {sequence}: a forward pass needs at least one token")
        if self._pass is not None:
            raise RecordError("forward passes cannot be nested")
        seq = self._sequences.get(sequence)
        if seq is not None and len(token_ids) != 1:
            raise RecordError(f"sequence {sequence}: pass {seq.passes} after the prompt has {len(token_ids)} tokens; "
                              "each decode step must add exactly one token (the trace format marks every row after "
                              "the prompt as one decode step)")
        if seq is None:
            seq = _Sequence(tokens=[], prompt_tokens=len(token_ids))
        self._pass = dict(sequence=sequence, tokens=token_ids, calls=0, seq=seq)
        token = _current.set(self)
        try:
            yield self
            calls = self._pass["calls"]
            if calls == 0:
                raise RecordError(f"sequence {sequence}: the forward pass made no attention call the recorder could see "
                                  "(a transformers model must call its attention through AttentionInterface; a plain "
                                  "module must call attnsim_trace.scaled_dot_product_attention or record_attention)")
            if self.layers is None:
                self.layers = calls
            elif calls != self.layers:
                raise RecordError(f"sequence {sequence}: the forward pass made {calls} attention calls, earlier passes "
                                  f"made {self.layers} (one call per layer is expected)")
            seq.tokens.extend(token_ids)
            seq.passes += 1
            self._sequences[sequence] = seq
        finally:
            _current.reset(token)
            self._pass = None

    # -- the hook ------------------------------------------------------------------------------------
    def add(self, query, key, value, *, causal: bool, scale: float, mask=None, module=None):
        """Records one attention call. query [1, heads, T, d]; key/value [1, kv_heads, S, d] where S is the
        number of keys this call attends to (the KV cache including the T new rows, which are the last T);
        `mask` is None, a boolean mask (True = attend) or an additive float mask broadcastable to
        [1, heads, T, S], and must agree with `causal`."""
        p = self._pass
        if p is None:
            raise RecordError("an attention call was recorded outside a forward pass (use `with recorder.forward(...)`)")
        layer = p["calls"]
        where = f"sequence {p['sequence']} layer {layer}"
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, torch.Tensor) or x.dim() != 4:
                raise RecordError(f"{where}: {name} must be a 4-D tensor [batch, heads, tokens, head_dim], "
                                  f"got {getattr(x, 'shape', type(x).__name__)}")
            if x.shape[0] != 1:
                raise RecordError(f"{where}: {name} has batch size {x.shape[0]}; record one sequence per forward pass")
        _, heads, t, d = query.shape
        _, kv_heads, s, dk = key.shape
        if tuple(value.shape) != (1, kv_heads, s, d) or dk != d:
            raise RecordError(f"{where}: key {tuple(key.shape)} and value {tuple(value.shape)} do not match query "
                              f"{tuple(query.shape)} (expected [1, kv_heads, S, {d}] for both)")
        if heads % kv_heads != 0:
            raise RecordError(f"{where}: {heads} query heads are not a multiple of {kv_heads} KV heads")
        if t != len(p["tokens"]):
            raise RecordError(f"{where}: the query has {t} rows but the forward pass was given {len(p['tokens'])} tokens")
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise RecordError(f"{where}: softmax scale {scale} is not a positive number")
        if s < t:
            raise RecordError(f"{where}: {s} keys for {t} queries (the new rows' keys must be among them)")
        # One query row sees every key under both causal and bidirectional attention, so a single-row
        # call (a decode step, or a one-token prompt) does not decide the trace's causality.
        causal = bool(causal)
        if t > 1 and not causal and s != t:
            raise RecordError(f"{where}: bidirectional attention over {s} keys for {t} queries; a bidirectional "
                              "trace has no KV cache (every row sees exactly the sequence's own keys)")
        visible = _visibility(mask, heads, t, s, where)
        if visible is not None and not bool((visible == _pattern(causal or t == 1, t, s)).all()):
            kind = "causal" if causal else "bidirectional"
            raise RecordError(f"{where}: the attention mask is not the plain {kind} pattern (padding, a sliding window "
                              "or a prefix mask?); the trace format has only causal or bidirectional attention "
                              "over the whole sequence")
        if t > 1:
            if self.causal is not None and causal != self.causal:
                raise RecordError(f"{where}: causal is {causal} but earlier calls had {self.causal} (a trace has one "
                                  "causality for all layers)")
            self.causal = causal
        elif self._causal_hint is None:
            self._causal_hint = causal
        for name, got, want in (("heads", heads, self.heads), ("kv_heads", kv_heads, self.kv_heads),
                                ("head_dim", d, self.head_dim)):
            if want is not None and got != want:
                raise RecordError(f"{where}: {name} is {got} but earlier calls had {want} (a trace has one shape "
                                  "for all layers)")
        f32 = _f32(scale)
        if self.scale is not None and f32 != self.scale:
            raise RecordError(f"{where}: softmax scale {scale!r} differs from earlier calls' {self.scale!r} (per-layer "
                              "scales, e.g. GPT-2's scale_attn_by_inverse_layer_idx, are not in the trace format)")
        self.heads, self.kv_heads, self.head_dim, self.scale = heads, kv_heads, d, f32
        if module is not None:
            if layer < len(self._layer_modules):
                if self._layer_modules[layer] is not module:
                    raise RecordError(f"{where}: a different attention module than in earlier passes was called as layer {layer}")
            else:
                self._layer_modules.append(module)
        seq = p["seq"]
        while len(seq.layers) <= layer:
            seq.layers.append(_Layer())
        entry = seq.layers[layer]
        if entry.rows + t != s:
            raise RecordError(f"{where}: the call attends to {s} keys, but {entry.rows} earlier rows plus {t} new "
                              f"ones make {entry.rows + t} (a KV cache the recorder did not see, or one that dropped "
                              "rows, such as a sliding-window cache, cannot be recorded)")

        def rows(x):
            return x[0, :, s - t:, :].detach().to(device="cpu", dtype=torch.float32).clone()

        entry.q.append(query[0].detach().to(device="cpu", dtype=torch.float32).clone())
        entry.k.append(rows(key))
        entry.v.append(rows(value))
        entry.rows += t
        p["calls"] += 1

    # -- the result ----------------------------------------------------------------------------------
    def trace(self, *, model: str, architecture: str, extras: dict | None = None) -> Trace:
        """The recorded sequences (in sequence order) as a `Trace`."""
        if not self._sequences:
            raise RecordError("nothing was recorded")
        order = sorted(self._sequences)
        if order != list(range(len(order))):
            raise RecordError(f"sequences {order} were recorded; expected 0...{len(order) - 1}")
        seqs = []
        for s in order:
            seq = self._sequences[s]
            layers = [(torch.cat(e.q, 1), torch.cat(e.k, 1), torch.cat(e.v, 1)) for e in seq.layers]
            seqs.append((list(seq.tokens), seq.prompt_tokens, layers))
        return Trace(model=model, architecture=architecture, heads=self.heads, kv_heads=self.kv_heads,
                     head_dim=self.head_dim, causal=self.causal if self.causal is not None else self._causal_hint,
                     scale=self.scale, sequences=seqs,
                     extras=dict(extras or {}))


def _f32(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float32))


def _pattern(causal: bool, t: int, s: int):
    """Which of s keys each of the last t rows sees: causal (bottom-right aligned) or all."""
    if not causal:
        return torch.ones(t, s, dtype=torch.bool)
    return torch.arange(s)[None, :] <= torch.arange(t)[:, None] + (s - t)


def _visibility(mask, heads, t, s, where):
    """The [t, s] boolean pattern of a mask (None: no mask), which must be the same for every head and
    must only hide keys: boolean (True = attend) or additive with 0 and -inf/the dtype's minimum."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise RecordError(f"{where}: attention mask of type {type(mask).__name__} is not supported "
                          "(expected None or a tensor; flex-attention block masks cannot be checked)")
    m = mask.detach().cpu()
    while m.dim() < 4:
        m = m.unsqueeze(0)
    try:
        m = m.expand(1, heads, t, s)
    except RuntimeError:
        raise RecordError(f"{where}: attention mask of shape {tuple(mask.shape)} does not broadcast to "
                          f"[1, {heads}, {t}, {s}]") from None
    if m.dtype == torch.bool:
        visible = m
    else:
        low = m <= torch.finfo(m.dtype).min / 2
        visible = m == 0
        if not bool((low | visible).all()):
            raise RecordError(f"{where}: the attention mask adds values other than 0 and -inf (a position bias such "
                              "as ALiBi?); the trace format has no additive bias")
    first = visible[0, 0]
    if not bool((visible[0] == first).all()):
        raise RecordError(f"{where}: the attention mask differs between heads")
    return first


# -- hook point 1: Hugging Face transformers ---------------------------------------------------------

def _interface_class():
    try:
        from transformers.modeling_utils import AttentionInterface
    except ImportError as e:  # pragma: no cover - depends on the installed transformers
        raise RecordError(f"transformers has no AttentionInterface ({e}); attnsim_trace needs transformers >= 5.0") from None
    return AttentionInterface


def _capturing(inner):
    """Wraps one attention function of transformers' interface (module, query, key, value, attention_mask, ...)."""
    import inspect

    if getattr(inner, "__attnsim_inner__", None) is not None:      # already a capturing wrapper
        return inner

    try:
        signature = inspect.signature(inner)
    except (TypeError, ValueError):
        signature = None

    def attention(module, query, key, value, attention_mask, *args, **kwargs):
        rec = _current.get()
        if rec is not None:
            options = dict(kwargs)
            if args:
                if signature is None:
                    raise RecordError(f"{getattr(inner, '__name__', inner)} was called with positional options; cannot read them")
                bound = signature.bind(module, query, key, value, attention_mask, *args, **kwargs).arguments
                options = {k: v for k, v in bound.items() if k not in ("module", "query", "key", "value", "attention_mask")}
                options.update(options.pop("kwargs", {}))
            where = f"layer {rec._pass['calls']}" if rec._pass else "attention"
            for unsupported in ("softcap", "s_aux", "sinks", "position_bias"):
                if options.get(unsupported) is not None:
                    raise RecordError(f"{where}: the model uses `{unsupported}`, which the trace format cannot express")
            if float(options.get("dropout") or 0.0) > 0:
                raise RecordError(f"{where}: attention dropout is active (call model.eval() before recording)")
            scale = options.get("scaling")
            if scale is None:
                # Earlier 5.x GPT-2 layers pass no scale and apply these flags inside their eager function.
                if getattr(module, "scale_attn_by_inverse_layer_idx", False) or not getattr(module, "scale_attn_weights", True):
                    raise RecordError(f"{where}: the layer scales its scores by its own flags (scale_attn_weights="
                                      f"{getattr(module, 'scale_attn_weights', True)}, scale_attn_by_inverse_layer_idx="
                                      f"{getattr(module, 'scale_attn_by_inverse_layer_idx', False)}) and passes no "
                                      "softmax scale; per-layer scales are not in the trace format")
                scale = query.shape[-1] ** -0.5          # the default of sdpa and of transformers' eager functions
            causal = options.get("is_causal")
            if causal is None:
                causal = getattr(module, "is_causal", True)   # sdpa's rule in transformers
            window = options.get("sliding_window")
            if window is not None and key.shape[2] > window:
                raise RecordError(f"{where}: sliding-window attention ({window} tokens) over {key.shape[2]} keys; "
                                  "the trace format has no window (record sequences of at most the window's length)")
            rec.add(query, key, value, causal=bool(causal), scale=float(scale), mask=attention_mask, module=module)
        return inner(module, query, key, value, attention_mask, *args, **kwargs)

    attention.__attnsim_inner__ = inner
    return attention


@contextlib.contextmanager
def capture_transformers(model=None):
    """While active, the attention functions of transformers models are wrapped so that, inside a
    `Recorder.forward` pass, each call's query/key/value, mask and scale are recorded before the
    original function runs (outside a pass the wrappers only forward the call). Wrapped are:
    the functions `AttentionInterface` hands out (sdpa, flash, flex, ... — its `get_interface`, which
    attention layers of transformers >= 5.2x call with the eager function as default, and its item
    lookup, which earlier 5.x layers use for non-eager implementations), and, for `model`'s attention
    layers, the `eager_attention_forward` function of their modeling modules (what earlier 5.x layers
    call directly under eager attention)."""
    import sys

    cls = _interface_class()
    if getattr(cls.__dict__.get("__getitem__"), "__attnsim_capture__", False):   # already active: nothing to add
        yield
        return
    wrappers = {}

    def wrap(inner):
        if inner not in wrappers:
            wrappers[inner] = _capturing(inner)
        return wrappers[inner]

    restore = []

    def patch(owner, name, value):
        restore.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    base_getitem = cls.__getitem__

    def getitem(self, key):
        return wrap(base_getitem(self, key))

    getitem.__attnsim_capture__ = True
    patch(cls, "__getitem__", getitem)
    if "get_interface" in cls.__dict__:
        base_get_interface = cls.__dict__["get_interface"]

        def get_interface(self, attn_implementation, default):
            return wrap(base_get_interface(self, attn_implementation, default))

        patch(cls, "get_interface", get_interface)
    if model is not None:
        for module in {type(m).__module__ for m in model.modules()}:
            mod = sys.modules.get(module)
            if mod is not None and callable(getattr(mod, "eager_attention_forward", None)):
                patch(mod, "eager_attention_forward", wrap(mod.eager_attention_forward))
    try:
        yield
    finally:
        for owner, name, old in reversed(restore):
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)


_MISSING = object()


# -- hook point 2: plain PyTorch modules -------------------------------------------------------------

def record_attention(query, key, value, *, is_causal: bool, scale: float | None = None, attn_mask=None, module=None):
    """Records one attention call inside the current `Recorder.forward` pass (no-op outside one).
    query [1, heads, T, d] after any rotary embedding; key/value [1, kv_heads, S, d] (the last T rows are
    this pass's new tokens; S = T without a KV cache). `scale` defaults to 1/sqrt(d)."""
    rec = _current.get()
    if rec is not None:
        rec.add(query, key, value, causal=is_causal, scale=query.shape[-1] ** -0.5 if scale is None else scale,
                mask=attn_mask, module=module)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """Drop-in replacement for `torch.nn.functional.scaled_dot_product_attention` that records the call
    inside a `Recorder.forward` pass. Keep key/value in KV heads and pass `enable_gqa=True` for
    grouped-query attention. The call is recorded as causal when `is_causal` is true or `attn_mask` is
    the causal pattern; a decode step (one query row against a KV cache) needs neither."""
    rec = _current.get()
    if rec is not None:
        if dropout_p:
            raise RecordError("attention dropout is active while recording (dropout_p must be 0)")
        t, s = query.shape[-2], key.shape[-2]
        causal = bool(is_causal)
        if not causal and attn_mask is not None and t > 1:
            visible = _visibility(attn_mask, query.shape[1], t, s, "scaled_dot_product_attention")
            causal = bool((visible == _pattern(True, t, s)).all())
        rec.add(query, key, value, causal=causal, scale=query.shape[-1] ** -0.5 if scale is None else scale,
                mask=attn_mask)
    kwargs = {"enable_gqa": True} if enable_gqa else {}
    return torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                                                            is_causal=is_causal, scale=scale, **kwargs)
