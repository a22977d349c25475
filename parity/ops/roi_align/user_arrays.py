"""A user's array files (``.npy``, ``.npz``, ``.pt``), read as numbers only.

``.npy`` and ``.npz`` are read by NumPy with ``allow_pickle=False``; a ``.pt`` file by
``torch.load(weights_only=True)`` in a child process (parity does not import a framework in its
own process), which hands back a ``.npy``.  An ``.npz`` or a ``.pt`` dict must hold one array, or
one named after its role (``features`` / ``rois``).  Every refusal is one line naming the file.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from parity.engine.errors import UsageError

SUFFIXES = (".npy", ".npz", ".pt", ".pth")
#: Dtypes parity can compare (numbers; the suites use the floats).
KINDS = "fiu"


def load(path: Path, role: str) -> np.ndarray:
    """The array in ``path`` that plays ``role`` (features or rois)."""
    path = Path(path)
    flag = f"--{role}"
    if not path.is_file():
        raise UsageError(f"{flag} {path}: no such file; pass a .npy, .npz or .pt file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{flag} {path}: unknown file type {path.suffix or '(none)'}; pass a .npy, .npz or .pt file")
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                array = archive[_member(list(archive.files), role, path)]
        else:
            array = _torch_file(path, role)
    except UsageError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{flag} {path}: not a readable array file ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in KINDS:
        raise UsageError(f"{flag} {path}: holds {getattr(array, 'dtype', type(array).__name__)}, not numbers")
    return np.ascontiguousarray(array)


def _member(names: list[str], role: str, path: Path) -> str:
    if len(names) == 1:
        return names[0]
    if role in names:
        return role
    shown = ", ".join(names[:8]) or "nothing"
    raise UsageError(f"--{role} {path}: holds {shown}; keep one array in it, or name it {role!r}")


def _torch_file(path: Path, role: str) -> np.ndarray:
    """``torch.load(path, weights_only=True)`` in a child process, back as a .npy."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "array.npy"
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "parity.ops.roi_align.user_arrays", str(path), role, str(out)],
                capture_output=True, text=True, timeout=300, check=False,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(f"--{role} {path}: reading it took over 300 s; save the tensor as .npy instead") from None
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            raise UsageError(f"--{role} {path}: {lines[-1] if lines else f'could not be read (exit {proc.returncode})'}")
        array: np.ndarray = np.load(out, allow_pickle=False)
        return array


def _convert(source: str, role: str, target: str) -> int:
    """The child's side: one tensor (or a dict holding one) to a .npy; a refusal on stderr."""
    import torch

    try:
        value = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        print(f"torch.load(weights_only=True) refused it ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})", file=sys.stderr)
        return 1
    if isinstance(value, dict):
        names = [str(k) for k in value]
        try:
            value = value[_member(names, role, Path(source))] if names else None
        except UsageError as exc:
            print(str(exc).split(": ", 1)[1], file=sys.stderr)
            return 1
    if not isinstance(value, torch.Tensor):
        print(f"holds a {type(value).__name__}, not a tensor", file=sys.stderr)
        return 1
    if value.dtype == torch.bfloat16:
        print("holds a bfloat16 tensor, which NumPy has no dtype for; save it as float32", file=sys.stderr)
        return 1
    np.save(target, value.detach().cpu().contiguous().numpy(), allow_pickle=False)
    return 0


if __name__ == "__main__":
    sys.exit(_convert(*sys.argv[1:4]))
