"""An attention trace in memory and its writer: the attnsim trace format, version 1 (docs/trace-format.md)."""
from __future__ import annotations

import json
import os
import tempfile

import torch

FORMAT = "attnsim-trace"
VERSION = 1
DTYPES = {"f16": (torch.float16, "F16"), "bf16": (torch.bfloat16, "BF16"), "f32": (torch.float32, "F32")}
RESERVED = {"format", "version", "model", "architecture", "layers", "heads", "kv_heads", "head_dim", "causal",
            "scale", "prompt_tokens", "sequences", "dtype"}


class RecordError(ValueError):
    """A model, input or option the recorder cannot turn into a valid trace; the message says what and where."""


class Trace:
    """Recorded attention: per sequence its token ids, its prompt length and, per layer, q [heads, T, d],
    k and v [kv_heads, T, d] (float32 torch tensors; Q and K after any rotary embedding)."""

    def __init__(self, *, model, architecture, heads, kv_heads, head_dim, causal, scale, sequences, extras=None):
        self.model = str(model)
        self.architecture = str(architecture)
        self.heads, self.kv_heads, self.head_dim = int(heads), int(kv_heads), int(head_dim)
        self.causal = bool(causal)
        self.scale = float(scale)
        self.sequences = sequences          # [(tokens, prompt_tokens, [(q, k, v) per layer])]
        self.extras = dict(extras or {})
        self.layers = len(sequences[0][2]) if sequences else 0
        self._check()

    def _check(self):
        if not self.sequences:
            raise RecordError("a trace needs at least one sequence")
        if self.heads % self.kv_heads:
            raise RecordError(f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        for key in self.extras:
            if key in RESERVED:
                raise RecordError(f"metadata key '{key}' is set by the recorder; choose another name")
        for s, (tokens, prompt, layers) in enumerate(self.sequences):
            t = len(tokens)
            if t == 0:
                raise RecordError(f"sequence {s} has no tokens")
            if not 1 <= prompt <= t:
                raise RecordError(f"sequence {s}: prompt_tokens {prompt} outside 1...{t}")
            if not self.causal and prompt != t:
                raise RecordError(f"sequence {s}: a bidirectional trace has no decode rows ({t - prompt} recorded)")
            if len(layers) != self.layers:
                raise RecordError(f"sequence {s} has {len(layers)} layers, sequence 0 has {self.layers}")
            for l, (q, k, v) in enumerate(layers):
                for name, x, h in (("q", q, self.heads), ("k", k, self.kv_heads), ("v", v, self.kv_heads)):
                    if tuple(x.shape) != (h, t, self.head_dim):
                        raise RecordError(f"seq{s}.layer{l}.{name}: shape {tuple(x.shape)}, expected ({h}, {t}, {self.head_dim})")
                    if not bool(torch.isfinite(x).all()):
                        raise RecordError(f"seq{s}.layer{l}.{name}: non-finite values (the trace format rejects NaN/Inf)")

    def metadata(self, dtype: str = "f16") -> dict:
        """The `__metadata__` strings (docs/trace-format.md)."""
        from . import recorder_name

        meta = {"recorder": recorder_name()}
        meta.update({k: str(v) for k, v in self.extras.items()})
        meta.update({
            "format": FORMAT, "version": str(VERSION), "model": self.model, "architecture": self.architecture,
            "layers": str(self.layers), "heads": str(self.heads), "kv_heads": str(self.kv_heads),
            "head_dim": str(self.head_dim), "causal": "true" if self.causal else "false", "scale": repr(self.scale),
            "prompt_tokens": json.dumps([p for _, p, _ in self.sequences]), "sequences": str(len(self.sequences)),
            "dtype": DTYPES[dtype][1],
        })
        return meta

    def tensors(self, dtype: str = "f16") -> dict:
        """The tensors by name, converted to `dtype` (f16, bf16 or f32)."""
        if dtype not in DTYPES:
            raise RecordError(f"dtype '{dtype}': expected one of {', '.join(DTYPES)}")
        torch_dtype = DTYPES[dtype][0]
        out = {}
        for s, (tokens, _, layers) in enumerate(self.sequences):
            out[f"seq{s}.tokens"] = torch.tensor(tokens, dtype=torch.int32)
            for l, (q, k, v) in enumerate(layers):
                for name, x in (("q", q), ("k", k), ("v", v)):
                    y = x.to(torch_dtype).contiguous()
                    if not bool(torch.isfinite(y).all()):
                        raise RecordError(f"seq{s}.layer{l}.{name}: values overflow {dtype} (record with dtype='f32')")
                    out[f"seq{s}.layer{l}.{name}"] = y
        return out

    def save(self, path: str, dtype: str = "f16") -> str:
        """Writes the trace atomically (a temporary file in the same directory, then a rename)."""
        from safetensors.torch import save_file

        tensors = self.tensors(dtype)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata=self.metadata(dtype))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path
