"""ONNX Runtime and onnx: versions (the op folders' runners import the packages themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__}
