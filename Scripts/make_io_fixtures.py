#!/usr/bin/env python3
"""Writes small safetensors fixtures with the reference `safetensors` library (numpy backend), so the
Swift reader is checked against an implementation we did not write.

    python3 -m venv ${VENV:-/tmp/attnsim-venv} && ${VENV:-/tmp/attnsim-venv}/bin/pip install safetensors numpy
    ${VENV:-/tmp/attnsim-venv}/bin/python Scripts/make_io_fixtures.py

Writes Tests/Fixtures/io/{dtypes,trace_tiny}.safetensors and expected.json (values as JSON).
"""
import json
import os
import numpy as np
from safetensors.numpy import save_file

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "io")
os.makedirs(out, exist_ok=True)

rng = np.random.default_rng(7)
f32 = rng.standard_normal((2, 3)).astype(np.float32)
f16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, np.inf, -np.inf, 0.33325195], dtype=np.float16)
bf16_as_f32 = np.array([1.0, -3.140625, 1e-38, 3.3895314e38], dtype=np.float32)
bf16_bits = (bf16_as_f32.view(np.uint32) >> 16).astype(np.uint16)
i32 = np.array([[1, -2], [2147483647, -2147483648]], dtype=np.int32)
i64 = np.array([9007199254740993, -1], dtype=np.int64)
f64 = np.array([0.1, -2.5e10], dtype=np.float64)
u8 = np.array([0, 255, 7], dtype=np.uint8)
empty = np.zeros((0, 4), dtype=np.float32)
scalar = np.array(3.5, dtype=np.float32)

tensors = {"f32": f32, "f16": f16, "i32": i32, "i64": i64, "f64": f64, "u8": u8, "empty": empty, "scalar": scalar}
save_file(tensors, os.path.join(out, "dtypes.safetensors"), metadata={"note": "made by make_io_fixtures.py", "quote": "a \"b\""})
# numpy has no bfloat16: write that file by hand, exactly as the format specifies.
hdr = json.dumps({"bf16": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}).encode()
hdr += b" " * (-len(hdr) % 8)
with open(os.path.join(out, "bf16.safetensors"), "wb") as f:
    f.write(len(hdr).to_bytes(8, "little") + hdr + bf16_bits.astype("<u2").tobytes())

# A tiny causal trace: 2 sequences (T=3 and 2), 2 layers, 2 heads, 1 KV head, head_dim 2.
trace = {}
prompt = [2, 1]
for s, t in enumerate([3, 2]):
    trace[f"seq{s}.tokens"] = np.arange(10 * s, 10 * s + t, dtype=np.int32)
    for l in range(2):
        trace[f"seq{s}.layer{l}.q"] = rng.standard_normal((2, t, 2)).astype(np.float16)
        trace[f"seq{s}.layer{l}.k"] = rng.standard_normal((1, t, 2)).astype(np.float16)
        trace[f"seq{s}.layer{l}.v"] = rng.standard_normal((1, t, 2)).astype(np.float16)
meta = {"format": "attnsim-trace", "version": "1", "model": "tiny", "architecture": "llama", "layers": "2",
        "heads": "2", "kv_heads": "1", "head_dim": "2", "causal": "true", "scale": "0.70710677",
        "prompt_tokens": json.dumps(prompt), "sequences": "2"}
save_file(trace, os.path.join(out, "trace_tiny.safetensors"), metadata=meta)

def floats(a):
    """JSON has no infinities: write them as the strings "inf" / "-inf"."""
    return [float(x) if np.isfinite(x) else ("inf" if x > 0 else "-inf") for x in np.asarray(a, dtype=np.float32).flatten()]


expected = {
    "f32": f32.flatten().tolist(), "f16": floats(f16),
    "f16_bits": f16.view(np.uint16).tolist(), "bf16": (bf16_bits.astype(np.uint32) << 16).view(np.float32).tolist(),
    "i32": i32.flatten().tolist(), "i64": i64.tolist(), "f64": f64.astype(np.float32).tolist(), "u8": u8.tolist(),
    "trace_seq1_layer1_q": [float(x) for x in trace["seq1.layer1.q"].astype(np.float32).flatten()],
}
json.dump(expected, open(os.path.join(out, "expected.json"), "w"), indent=1)
print("wrote", out)
