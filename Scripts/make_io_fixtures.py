#!/usr/bin/env python3
"""Writes small safetensors fixtures with the reference `safetensors` library (numpy backend), so the
Swift reader is checked against an implementation we did not write.

    python3 -m venv ${VENV:-/tmp/attnsim-venv} && ${VENV:-/tmp/attnsim-venv}/bin/pip install safetensors numpy
    ${VENV:-/tmp/attnsim-venv}/bin/python Scripts/make_io_fixtures.py

Writes Tests/Fixtures/io/{dtypes,trace_tiny}.safetensors and expected.json (values as JSON).

Part 2 (needs torch as well, e.g. the /work/.venvs/ref venv; skipped with a message without it):
  rounding.safetensors                  `input` F32 [N] edge values; `f16` = numpy astype(float16);
                                        `bf16` = torch .to(bfloat16) — round-to-nearest-even references
  writer_reference.safetensors          what the Swift writer must reproduce byte for byte
  corrupt/*.safetensors + corrupt.json  malformed files, each checked to be rejected by the reference
                                        library; corrupt.json maps file -> the reference's error text
  trace.safetensors                     an attention trace (docs/trace-format.md) written with numpy:
                                        2 sequences (T = 5, 4), 2 layers, 4 heads, 2 kv heads, head_dim 3
  trace_values.safetensors              its Q/K/V as float32 (numpy float16 -> float32), same names
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

# ---------------------------------------------------------------------------------------------------
# Part 2: round-to-nearest-even references, the writer's byte layout, corrupt files, a schema trace.
import struct  # noqa: E402
import sys  # noqa: E402
import safetensors  # noqa: E402
from safetensors.numpy import save as np_save  # noqa: E402
try:
    import torch
    from safetensors.torch import save as torch_save, load as torch_load
except ImportError:
    print("wrote", out, "(part 2 skipped: torch not installed; use /work/.venvs/ref)")
    sys.exit(0)

OUT = out
os.makedirs(os.path.join(OUT, "corrupt"), exist_ok=True)
dtypes_bytes = open(os.path.join(OUT, "dtypes.safetensors"), "rb").read()


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# 2. Rounding references ---------------------------------------------------------------------------
def f32(bits):
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]

inputs = [0.0, -0.0, 1.0, -1.0, 0.1, 1.0 / 3.0, 65504.0, 65519.99, 65520.0, 1e5, -1e5,
          6.0e-8, 5.96e-8, 2.98e-8, 2.9802322e-8, 3.0e-8, 1.0e-8, 6.1035156e-5, 6.1e-5, 1e-45, 3.4e38,
          1.0009765625,    # 1 + 2^-10: exact in f16
          1.00048828125,   # 1 + 2^-11: f16 tie -> even (1.0)
          1.00146484375,   # 1 + 3·2^-11: f16 tie -> even (1 + 2^-9)
          1.00390625,      # 1 + 2^-8: bf16 tie -> even (1.0)
          1.01171875,      # 1 + 3·2^-8: bf16 tie -> even
          float("inf"), float("-inf"), float("nan")]
extra_bits = [0x33000000, 0x33000001, 0x337FFFFF, 0x38800000, 0x387FFFFF, 0x477FEFFF, 0x477FF000,
              0x7F7FFFFF, 0x7F7F8000, 0x00000001, 0x80000001, 0x3F808000, 0x3F818000, 0x7FC00001]
rng = np.random.default_rng(2026)  # part 2 has its own stream
random_bits = rng.integers(0, 2**32, size=200, dtype=np.uint64).astype(np.uint32)
inp = np.concatenate([np.array(inputs, dtype=np.float32),
                      np.array(extra_bits, dtype=np.uint32).view(np.float32),
                      random_bits.view(np.float32),
                      rng.normal(0, 3, size=100).astype(np.float32)])
# numpy does not define which NaN payload float16 gets; keep only quiet NaNs from the fixed list
finite_or_inf = ~np.isnan(inp)
inp = np.concatenate([inp[finite_or_inf], np.array([np.nan], dtype=np.float32)])
f16 = inp.astype(np.float16)
bf16 = torch.from_numpy(inp.copy()).to(torch.bfloat16)
write("rounding.safetensors", torch_save({"input": torch.from_numpy(inp.copy()),
                                          "f16": torch.from_numpy(f16.copy()), "bf16": bf16}))

# 3. Writer reference: the Swift test builds the same tensors and must produce identical bytes -----
ref = {
    "b": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16),
    "a": torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32),
    "c": torch.tensor([5, -6], dtype=torch.int64),
    "d": torch.tensor([7], dtype=torch.int32),
    "e": torch.tensor([0.5, -0.5], dtype=torch.bfloat16),
    "z": torch.zeros((0,), dtype=torch.float32),
}
write("writer_reference.safetensors", torch_save(ref, metadata={"k": "v"}))

# 4. Corrupt files ---------------------------------------------------------------------------------
def image(header, payload, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + payload

good_payload = struct.pack("<4f", 1, 2, 3, 4)
corrupt = {
    "truncated": dtypes_bytes[: len(dtypes_bytes) - 5],
    "short": b"\x10\x00\x00",
    "header_past_end": struct.pack("<Q", 4096) + b"{}",
    "huge_header": struct.pack("<Q", 200_000_000) + b"{}" + b" " * 8,
    "bad_json": image(None, good_payload, raw_header=b'{"a":{"dtype":"F32",'),
    "not_object": image(None, b"", raw_header=b"[1,2]"),
    "unknown_dtype": image({"a": {"dtype": "F7", "shape": [4], "data_offsets": [0, 16]}}, good_payload),
    "overlap": image({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, good_payload[:12]),
    "gap": image({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, good_payload),
    "wrong_length": image({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, good_payload),
    "begin_after_end": image({"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, good_payload),
    "offsets_past_end": image({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, good_payload),
    "negative_shape": image({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, good_payload),
    "overflow_shape": image({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 16]}}, good_payload),
    "duplicate_name": image(None, good_payload, raw_header=b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                                          b'"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}'),
    "trailing_bytes": image({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}, good_payload),
    "bad_metadata": image({"__metadata__": {"k": 1}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                          good_payload),
}
reference_errors = {}
for name, blob in corrupt.items():
    write(os.path.join("corrupt", name + ".safetensors"), blob)
    try:
        torch_load(blob)
        reference_errors[name] = None  # accepted by the reference library
    except Exception as e:  # noqa: BLE001 - we record whatever the reference says
        reference_errors[name] = f"{type(e).__name__}: {e}"
with open(os.path.join(OUT, "corrupt.json"), "w") as f:
    json.dump(reference_errors, f, indent=1, sort_keys=True)
    f.write("\n")

# 5. A trace written by numpy + safetensors following docs/trace-format.md --------------------------

LAYERS, HEADS, KV_HEADS, HEAD_DIM = 2, 4, 2, 3
seq_tokens = [np.array([101, 7592, 2088, 999, 102], dtype=np.int32), np.array([5, 6, 7, 8], dtype=np.int32)]
prompt = [3, 4]
trace, values = {}, {}
for s, tok in enumerate(seq_tokens):
    trace[f"seq{s}.tokens"] = tok
    T = len(tok)
    for layer in range(LAYERS):
        for kind, h in (("q", HEADS), ("k", KV_HEADS), ("v", KV_HEADS)):
            x = rng.normal(0, 2, size=(h, T, HEAD_DIM)).astype(np.float16)
            trace[f"seq{s}.layer{layer}.{kind}"] = x
            values[f"seq{s}.layer{layer}.{kind}"] = x.astype(np.float32)
trace_meta = {"format": "attnsim-trace", "version": "1", "model": "numpy-fixture", "architecture": "llama",
              "layers": str(LAYERS), "heads": str(HEADS), "kv_heads": str(KV_HEADS), "head_dim": str(HEAD_DIM),
              "causal": "true", "scale": repr(float(1 / np.sqrt(HEAD_DIM))), "prompt_tokens": json.dumps(prompt),
              "sequences": str(len(seq_tokens)), "dtype": "F16", "source_text": "made by make_io_fixtures.py"}
write("trace.safetensors", np_save(trace, metadata=trace_meta))
write("trace_values.safetensors", np_save(values))

print(f"wrote {OUT}: safetensors {safetensors.__version__}, numpy {np.__version__}, torch {torch.__version__}")
for k, v in sorted(reference_errors.items()):
    print(f"  corrupt/{k}: {'ACCEPTED by reference' if v is None else v[:110]}")
