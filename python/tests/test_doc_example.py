"""The five-line example of docs/trace-format.md runs as written, on a tiny model saved to a directory."""
import os
import re

from conftest import REPO, load, prompt_tokens, tiny_model


def doc_example():
    text = open(os.path.join(REPO, "docs", "trace-format.md"), encoding="utf-8").read()
    section = text[text.index("## Recording from PyTorch and Hugging Face models"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_five_line_example_records_a_trace(tmp_path, monkeypatch):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    code = doc_example()
    assert len(code.strip().splitlines()) == 5
    words = "[UNK] the cat sat on a mat and dog ran far away".split()
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    model_dir = tmp_path / "tiny-llama"
    PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]").save_pretrained(str(model_dir))
    model, _, _ = tiny_model("llama")
    model.save_pretrained(str(model_dir))
    (tmp_path / "prompts.txt").write_text("the cat sat on a mat\n\nthe dog ran far away\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/trace-format.md", "exec"), {"path": str(model_dir)})
    meta, tensors = load(str(tmp_path / "my-trace.safetensors"))
    assert prompt_tokens(meta) == [6, 5] and meta["causal"] == "true" and meta["model"] == "tiny-llama"
    assert tensors["seq0.tokens"].shape[0] == 6 + 16 and tensors["seq1.layer1.k"].shape == (2, 5 + 16, 12)
