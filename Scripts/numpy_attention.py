#!/usr/bin/env python3
"""Plain numpy float attention over every (sequence, layer, head) of an attnsim trace: the yardstick
for the functional model's speed (attnsim-bench's `functional_trace_*` benchmarks print the ratio).

Per query head: S = Q·Kᵀ · scale (float32 matmul, BLAS threads as numpy chooses), causal mask,
row softmax, O = P·V. The trace is read with numpy alone (safetensors: an 8-byte header length, a
JSON header, raw little-endian tensors). Prints one CSV line:
    numpy_float_attention,<trace>,<min wall seconds>,<repeats>,<numpy version>,<min CPU seconds>
(CPU seconds: the process's, all BLAS threads; on a shared machine the steadier figure.)

    python3 Scripts/numpy_attention.py TRACE [--repeats N]
(attnsim-bench runs it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command only.)
"""
import json, os, struct, sys, time
import numpy as np

DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "I32": np.int32, "I64": np.int64}


def read_trace(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", {})
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    def tensor(name):
        h = header[name]
        a, b = h["data_offsets"]
        raw = data[a:b]
        if h["dtype"] == "BF16":
            u = raw.view(np.uint16).astype(np.uint32) << 16
            return u.view(np.float32).reshape(h["shape"])
        return raw.view(DTYPES[h["dtype"]]).reshape(h["shape"])
    return meta, tensor


def attention(meta, tensor):
    layers, seqs = int(meta["layers"]), len(json.loads(meta["prompt_tokens"]))
    heads, kv = int(meta["heads"]), int(meta["kv_heads"])
    causal = meta["causal"] == "true"
    scale = np.float32(float(meta["scale"]))
    checksum = 0.0
    for s in range(seqs):
        for l in range(layers):
            q = tensor(f"seq{s}.layer{l}.q").astype(np.float32)
            k = tensor(f"seq{s}.layer{l}.k").astype(np.float32)
            v = tensor(f"seq{s}.layer{l}.v").astype(np.float32)
            t = q.shape[1]
            mask = np.triu(np.full((t, t), -np.inf, dtype=np.float32), 1) if causal else None
            for h in range(heads):
                kvh = h // (heads // kv)
                sc = (q[h] @ k[kvh].T) * scale
                if mask is not None:
                    sc += mask
                sc -= sc.max(axis=1, keepdims=True)
                np.exp(sc, out=sc)
                sc /= sc.sum(axis=1, keepdims=True)
                o = sc @ v[kvh]
                checksum += float(o[-1, 0])
    return checksum


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: numpy_attention.py TRACE [--repeats N]")
    path, repeats = args[0], 3
    if "--repeats" in args:
        repeats = int(args[args.index("--repeats") + 1])
    meta, tensor = read_trace(path)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        attention(meta, tensor)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"numpy_float_attention,{os.path.basename(path)},{best:.6g},{repeats},{np.__version__},{best_cpu:.6g}")


if __name__ == "__main__":
    main()
