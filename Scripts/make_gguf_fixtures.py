#!/usr/bin/env python3
"""Writes a tiny GGUF file with the reference `gguf` package (0.19) — F32, F16, BF16, Q8_0, Q4_0 and
Q4_1 tensors plus metadata of every value type — and the values the package's own dequantizer gives,
so AttnSim's Swift GGUF reader is checked against an implementation we did not write.

    $VENV/bin/pip install gguf numpy && $VENV/bin/python Scripts/make_gguf_fixtures.py
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, GGUFWriter, quants

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "gguf")
os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, "tiny.gguf")
rng = np.random.default_rng(11)

w = GGUFWriter(path, "llama")
w.add_uint32("test.u32", 7)
w.add_int32("test.i32", -3)
w.add_float32("test.f32", 1.5)
w.add_bool("test.bool", True)
w.add_string("test.string", "héllo")
w.add_array("test.strings", ["a", "bc", ""])
w.add_array("test.ints", [1, 2, 3])
w.add_uint64("test.u64", 1 << 40)
w.add_float64("test.f64", 0.25)
tensors = {}
for name, qtype, shape in [("f32", T.F32, (3, 5)), ("f16", T.F16, (2, 8)), ("bf16", T.BF16, (2, 32)),
                           ("q8_0", T.Q8_0, (3, 64)), ("q4_0", T.Q4_0, (2, 64)), ("q4_1", T.Q4_1, (4, 32))]:
    x = rng.standard_normal(shape).astype(np.float32) * 2
    if qtype == T.F32:
        w.add_tensor(name, x)
    elif qtype == T.F16:
        w.add_tensor(name, x.astype(np.float16))
    else:
        q = quants.quantize(x, qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

r = GGUFReader(path)
expected = {}
for t in r.tensors:
    v = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
    expected[t.name] = {"type": t.tensor_type.name, "shape": [int(x) for x in t.shape], "values": v.flatten().tolist()}
json.dump(expected, open(os.path.join(OUT, "tiny_expected.json"), "w"))
print("wrote", path, os.path.getsize(path), "bytes")

# Slices of the real SmolLM2 GGUF (from Scripts/fetch-assets), dequantized by the gguf package.
real = os.path.join(os.environ.get("ATTNSIM_ASSETS", os.path.join(OUT, "..", "..", "..", ".assets")),
                    "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
if os.path.exists(real):
    r = GGUFReader(real)
    out = {}
    for t in r.tensors:
        if t.name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight"):
            v = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            out[t.name] = {"type": t.tensor_type.name, "dims": [int(x) for x in t.shape],
                           "first": v.reshape(-1)[:96].tolist(), "last": v.reshape(-1)[-96:].tolist(),
                           "sum": float(v.astype(np.float64).sum())}
    json.dump(out, open(os.path.join(OUT, "smollm2_slices.json"), "w"))
    print("wrote smollm2_slices.json")
