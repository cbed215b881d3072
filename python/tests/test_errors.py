"""What the trace format cannot express is refused with a message naming the cause, and no file is written."""
import os

import pytest
import torch

import attnsim_trace
from attnsim_trace import RecordError
from conftest import tiny_model, token_lists


def refused(match, fn, *args, **kwargs):
    with pytest.raises(RecordError, match=match):
        fn(*args, **kwargs)


def test_training_mode_is_refused(tmp_path):
    model, _, _ = tiny_model("llama")
    model.train()
    out = tmp_path / "x.safetensors"
    refused("call model.eval", attnsim_trace.record, model, token_lists(), out=str(out))
    assert not out.exists()


def test_generate_needs_a_causal_language_model():
    model, _, _ = tiny_model("bert")
    refused("no logits and KV cache", attnsim_trace.record, model, token_lists(), generate=2)


def test_bad_sequences_and_options():
    model, _, _ = tiny_model("gpt2")
    refused("nothing to record", attnsim_trace.record, model, [])
    refused(r"sequences\[1\] has no tokens", attnsim_trace.record, model, [[3, 4], []])
    refused("list of token-id lists", attnsim_trace.record, model, [["a"]])
    refused("non-negative integer", attnsim_trace.record, model, [[3, 4]], generate=-1)
    trace = attnsim_trace.record(model, [[3, 4, 5]])
    refused("dtype 'f8'", trace.save, "/tmp/never-written.safetensors", dtype="f8")
    assert not os.path.exists("/tmp/never-written.safetensors")


def test_per_layer_softmax_scales_are_refused():
    import transformers

    config = transformers.GPT2Config(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                     scale_attn_by_inverse_layer_idx=True, attn_implementation="eager")
    model = transformers.GPT2LMHeadModel(config).eval()
    refused("per-layer scales", attnsim_trace.record, model, token_lists())


def test_attention_outside_the_interface_is_refused():
    """GPT-2's reorder_and_upcast_attn path under eager attention bypasses AttentionInterface."""
    model, _, _ = tiny_model("gpt2")
    for block in model.transformer.h:
        block.attn.reorder_and_upcast_attn = True
    refused("made no attention call", attnsim_trace.record, model, token_lists())


def test_sliding_window_shorter_than_the_sequence_is_refused():
    model, _, _ = tiny_model("mistral")
    model.config.sliding_window = 4
    refused("sliding-window", attnsim_trace.record, model, token_lists(lengths=(9,)))


def test_padding_mask_is_refused():
    model, _, _ = tiny_model("bert")
    rec = attnsim_trace.Recorder()
    ids = [5, 6, 7, 8]
    with torch.no_grad(), attnsim_trace.capture_transformers(model):
        with pytest.raises(RecordError, match="not the plain bidirectional pattern"):
            with rec.forward(0, ids):
                model(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([[1, 1, 1, 0]]))


def test_decode_steps_must_add_one_token():
    rec = attnsim_trace.Recorder()
    q = torch.randn(1, 2, 3, 4)
    with rec.forward(0, [1, 2, 3]):
        attnsim_trace.record_attention(q, q, q, is_causal=True)
    with pytest.raises(RecordError, match="exactly one token"):
        with rec.forward(0, [4, 5]):
            pass


def test_a_cache_the_recorder_did_not_see_is_refused():
    rec = attnsim_trace.Recorder()
    q, k = torch.randn(1, 2, 1, 4), torch.randn(1, 2, 5, 4)
    with pytest.raises(RecordError, match="0 earlier rows plus 1 new"):
        with rec.forward(0, [1]):
            attnsim_trace.record_attention(q, k, k, is_causal=True)


def test_gqa_head_counts_must_divide():
    rec = attnsim_trace.Recorder()
    with pytest.raises(RecordError, match="not a multiple"):
        with rec.forward(0, [1, 2]):
            attnsim_trace.record_attention(torch.randn(1, 3, 2, 4), torch.randn(1, 2, 2, 4), torch.randn(1, 2, 2, 4),
                                           is_causal=True)


def test_nested_capture_records_each_call_once():
    model, _, _ = tiny_model("llama")
    from transformers.modeling_utils import AttentionInterface

    before = dict(AttentionInterface.__dict__)
    with attnsim_trace.capture_transformers(model):
        trace = attnsim_trace.record(model, [[3, 4, 5]])
    assert trace.layers == 2
    assert dict(AttentionInterface.__dict__) == before        # restored
