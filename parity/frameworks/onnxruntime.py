"""ONNX Runtime and onnx: versions, and the session every op's runner runs its one-node model in."""
from __future__ import annotations

from typing import Any


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__}


def session(model: Any) -> Any:
    """An InferenceSession of ``model`` (an onnx ModelProto) on the CPU provider, one thread, errors only logged."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
