"""The Python recorder against AttnSim's Swift side: MiniLM recorded by both equals within f16
rounding, and Python-recorded traces are read by `attnsim inspect` and replayed by `attnsim run`."""
import csv
import io
import os
import subprocess

import pytest
import torch

import attnsim_trace
from conftest import attention_from_trace, load, tiny_model, token_lists


def run(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"attnsim {' '.join(args)} failed ({r.returncode}): {r.stderr}"
    return r.stdout


def ulp16(x):
    """Spacing of float16 at |x| (subnormals included)."""
    a = x.abs().half()
    return (torch.nextafter(a, torch.tensor(float("inf"), dtype=torch.float16)) - a).float()


def movie_lines(assets, n):
    path = os.path.join(assets, "text", "movieReviewSnippets_GroundTruth.txt")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.split("\t")[2].strip() for line in f.read().splitlines()[:n]]


def test_minilm_python_recording_equals_swift_record(attnsim_bin, assets, tmp_path):
    from transformers import BertModel, BertTokenizerFast

    lines = movie_lines(assets, 6)
    text = tmp_path / "lines.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    minilm = os.path.join(assets, "minilm")
    swift = str(tmp_path / "swift.safetensors")
    run(attnsim_bin, "record", "--model", minilm, "--text", str(text), "--out", swift)

    tok = BertTokenizerFast(tokenizer_file=os.path.join(minilm, "tokenizer.json"))
    model = BertModel.from_pretrained(minilm).eval()
    ids = [tok(line, truncation=True, max_length=128)["input_ids"] for line in lines]
    py = str(tmp_path / "python.safetensors")
    attnsim_trace.record(model, ids, out=py, model_name="minilm")

    mp, tp = load(py)
    ms, ts = load(swift)
    for key in ("format", "version", "model", "architecture", "layers", "heads", "kv_heads", "head_dim", "causal",
                "sequences", "dtype"):
        assert mp[key] == ms[key], key
    assert float(torch.tensor(float(mp["scale"]), dtype=torch.float32)) == float(torch.tensor(float(ms["scale"]), dtype=torch.float32))
    assert [int(x) for x in mp["prompt_tokens"].strip("[]").split(",")] == \
           [int(x) for x in ms["prompt_tokens"].strip("[]").split(",")] == [len(i) for i in ids]
    assert set(tp) == set(ts) and len(tp) == 6 * (1 + 3 * 6)
    differing = total = 0
    for name in tp:
        a, b = tp[name], ts[name]
        if name.endswith("tokens"):
            assert torch.equal(a, b), name
            continue
        assert a.dtype == b.dtype == torch.float16 and a.shape == b.shape, name
        a, b = a.float(), b.float()
        # Within f16 rounding: one f16 step at the value, plus 1e-5 for float32 summation-order noise in
        # values that cancel to almost zero (the largest float32-vs-float32 difference measured is 5.7e-6).
        bound = torch.maximum(ulp16(a), ulp16(b)) + 1e-5
        excess = (a - b).abs() - bound
        assert excess.max() <= 0, (name, float((a - b).abs().max()))
        differing += int((a != b).sum())
        total += a.numel()
    assert differing < 0.01 * total, (differing, total)   # measured: 0.44% of the values differ, by one step


def inspect_table(text):
    """Rows of `attnsim inspect`'s per-layer table as dicts of floats."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("layer\t"))
    names = lines[head].split("\t")
    rows = []
    for line in lines[head + 1:]:
        if not line.strip():
            break
        rows.append(dict(zip(names, map(float, line.split("\t")))))
    return rows


@pytest.mark.parametrize("arch", ["bert", "gpt2", "qwen2"])
def test_swift_inspect_reads_python_trace(arch, attnsim_bin, tmp_path):
    """`attnsim inspect` reads the trace and its statistics (computed in Swift from the values, the
    scale, the causality and the GQA mapping) equal the same statistics computed here."""
    model, _, _ = tiny_model(arch)
    seqs = token_lists()
    generate = 0 if arch == "bert" else 3
    path = str(tmp_path / f"{arch}.safetensors")
    attnsim_trace.record(model, seqs, generate=generate, out=path, model_name=f"tiny-{arch}")
    out = run(attnsim_bin, "inspect", path)
    meta, tensors = load(path)
    heads, kv = int(meta["heads"]), int(meta["kv_heads"])
    assert f"tiny-{arch} ({model.config.model_type})" in out
    assert f"heads          {heads} query, {kv} KV (group {heads // kv}), head_dim {meta['head_dim']}" in out
    assert f"causal         {meta['causal']}" in out
    lengths = " ".join(str(len(s) + generate) for s in seqs)
    prompts = " ".join(str(len(s)) for s in seqs)
    assert f"sequences      {len(seqs)}: tokens {lengths}; prompt {prompts}" in out
    rows = inspect_table(out)
    assert len(rows) == 2
    for l, row in enumerate(rows):
        first, count, maxq = 0.0, 0, 0.0
        for s in range(len(seqs)):
            p, _ = attention_from_trace(meta, tensors, s, l)
            first += float(p[:, :, 0].sum())
            count += p.shape[0] * p.shape[1]
            maxq = max(maxq, float(tensors[f"seq{s}.layer{l}.q"].float().abs().max()))
        assert row["mass_first"] == pytest.approx(first / count, rel=6e-3, abs=1e-3)
        assert row["max|q|"] == pytest.approx(maxq, rel=6e-3)


def test_swift_run_replays_python_trace_with_decode_rows(attnsim_bin, tmp_path):
    model, _, _ = tiny_model("llama")
    trace = str(tmp_path / "llama.safetensors")
    attnsim_trace.record(model, token_lists(lengths=(10, 7)), generate=5, out=trace, model_name="tiny-llama")
    config = tmp_path / "run.yaml"
    config.write_text(f"traces: [{trace}]\nphases: [prefill, decode]\n", encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(run(attnsim_bin, "run", str(config), "--quiet"))))
    assert [(r["trace"], r["phase"]) for r in rows] == [("llama.safetensors", "prefill"), ("llama.safetensors", "decode")]
    for r in rows:
        assert int(r["cycles"]) > 0 and int(r["dram_read_bytes"]) > 0
