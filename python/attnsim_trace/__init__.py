"""attnsim_trace: record attention traces for AttnSim from PyTorch and Hugging Face transformers models.

    import attnsim_trace
    attnsim_trace.record(model, [token_ids, ...], generate=16, out="trace.safetensors")

The trace holds, per sequence, layer and head, exactly the operands of the attention unit: Q and K
after any rotary embedding, V, grouped-query attention kept as KV heads, the softmax scale, causal or
bidirectional, and the prompt/decode split (docs/trace-format.md in the AttnSim repository).
"""
__version__ = "0.1.0"

from .trace import RecordError, Trace  # noqa: E402
from .recorder import Recorder, capture_transformers, record_attention, scaled_dot_product_attention  # noqa: E402
from .hf import record  # noqa: E402

sdpa = scaled_dot_product_attention


def recorder_name() -> str:
    """The `recorder` metadata value: this package, its version and the torch/transformers versions."""
    import torch

    try:
        import transformers
        tv = f", transformers {transformers.__version__}"
    except ImportError:  # pragma: no cover
        tv = ""
    return f"attnsim_trace {__version__} (torch {torch.__version__}{tv})"


__all__ = ["record", "Recorder", "Trace", "RecordError", "capture_transformers", "record_attention",
           "scaled_dot_product_attention", "sdpa", "recorder_name", "__version__"]
