"""``parity.ops.roi_align.capture``: record the torchvision RoIAlign calls a real model makes, as fixtures.

A migration is about one model's calls, not a grid: its feature maps' shapes, the spatial
scales its FPN levels imply, the rois its RPN proposes.  Under ``with parity.capture(DIR):``
every call of ``torchvision.ops.roi_align`` (directly, through ``RoIAlign`` or through
``MultiScaleRoIAlign`` in the detection models) is recorded, arguments as torchvision itself
reads them, into a fixture folder in parity's one format (parity.ops.roi_align.fixtures), so that
``parity run --fixtures DIR`` replays and gates the calls like any suite.

torchvision 0.29 looks the function up in the globals of the modules that imported it (the
``torchvision.ops`` package, ``torchvision.ops.roi_align`` for ``RoIAlign``,
``torchvision.ops.poolers`` for ``MultiScaleRoIAlign``, ``torchvision.models.detection.roi_heads``);
``from torchvision.ops import roi_align`` in user code binds another such global.  So capture
rebinds every module global that holds the function, and puts each back on exit, exception
or not.  The call itself goes to the original unchanged: capture never alters what a model
computes.  Recording stops at ``max_calls`` calls or ``max_bytes`` bytes of arrays; what was
left out is counted in the manifest (``"captured"``) and in the returned summary.
"""
from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, Callable

from parity.engine.errors import UsageError

if TYPE_CHECKING:  # numpy and the case model load with the first recorded call: ``import parity`` stays light
    import numpy as np

    from parity.engine.model import Case

SUITE = "captured"
#: Defaults: enough for a few images through a Mask R-CNN (8 calls an image), small enough to commit.
MAX_CALLS = 64
MAX_BYTES = 256 << 20
_MARK = "__parity_capture__"
_SITE_CHARS = re.compile(r"[^A-Za-z0-9_.]+")


@dataclass
class CaptureSummary:
    """What a capture recorded and what it left out (also written to the manifest as ``captured``)."""

    folder: Path
    calls: int = 0
    recorded: int = 0
    recorded_bytes: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {"max_calls": 0, "max_bytes": 0, "unsupported": 0})
    scales: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "recorded": self.recorded, "recorded_bytes": self.recorded_bytes,
                "dropped": dict(self.dropped)}

    def __str__(self) -> str:
        left = ", ".join(f"{n} over {why}" for why, n in self.dropped.items() if n)
        return (f"captured {self.recorded} of {self.calls} roi_align calls ({self.recorded_bytes / 2**20:.1f} MiB) "
                f"into {self.folder}" + (f"; not recorded: {left}" if left else "")
                + f"; replay with: parity run --fixtures {self.folder}")


def _site(frame: FrameType | None) -> str:
    """``poolers._multiscale_roi_align.204``: the caller's module (last part), function and line."""
    if frame is None:
        return "unknown"
    module = str(frame.f_globals.get("__name__", "")).rsplit(".", 1)[-1]
    text = f"{module}.{frame.f_code.co_name}.{frame.f_lineno}"
    return _SITE_CHARS.sub("", text)[:80] or "unknown"


def _pair(size: Any) -> tuple[int, int]:
    """torchvision's ``_pair``: an int is a square, a sequence is (height, width)."""
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


def _numpy(t: Any) -> "np.ndarray":
    values: np.ndarray = t.detach().cpu().numpy().copy()
    return values


def _rois(boxes: Any) -> tuple["np.ndarray", str, int]:
    """``[K, 5]`` rois as torchvision's ``convert_boxes_to_roi_format`` builds them, the boxes form, images."""
    import numpy as np

    if isinstance(boxes, (list, tuple)):
        parts = [_numpy(b) for b in boxes]
        dtype = parts[0].dtype if parts else np.float32
        index = [np.full((len(b), 1), i, dtype) for i, b in enumerate(parts)]
        rois = np.concatenate([np.concatenate(index), np.concatenate(parts)], axis=1) if parts else np.zeros((0, 5), dtype)
        return rois, "list", len(parts)
    return _numpy(boxes), "tensor", -1


class _Recorder:
    def __init__(self, folder: Path, max_calls: int, max_bytes: int, signature: inspect.Signature):
        self.summary = CaptureSummary(folder)
        self.max_calls, self.max_bytes, self.signature = max_calls, max_bytes, signature
        self.cases: list[Case] = []
        self.active = True

    def record(self, args: tuple[Any, ...], kwargs: dict[str, Any], frame: FrameType | None) -> None:
        from parity.ops.roi_align.generate import DT
        from parity.engine.model import Case, Port
        from parity.ops.roi_align.attrs import Attrs

        s = self.summary
        s.calls += 1
        if s.recorded >= self.max_calls:
            s.dropped["max_calls"] += 1
            return
        try:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            attrs = Attrs(_pair(a["output_size"]), float(a["spatial_scale"]), int(a["sampling_ratio"]), bool(a["aligned"]))
            features = a["input"]
            if getattr(features, "is_quantized", False):
                raise TypeError("quantized")
            features = _numpy(features)
            rois, form, images = _rois(a["boxes"])
        except (TypeError, ValueError, IndexError, RuntimeError):
            s.dropped["unsupported"] += 1  # torchvision will say what is wrong with the call itself
            return
        if (str(features.dtype) not in DT or rois.dtype != features.dtype or features.ndim != 4 or rois.ndim != 2
                or min(attrs.output_size) <= 0 or not attrs.spatial_scale > 0):
            s.dropped["unsupported"] += 1  # not a call the fixture format holds (bfloat16, a malformed call)
            return
        size = features.nbytes + rois.nbytes
        if s.recorded_bytes + size > self.max_bytes:
            s.dropped["max_bytes"] += 1
            return
        if form == "list" and images != features.shape[0]:
            form = "tensor"  # the replayed list holds one entry per image of the features
        case_id = f"captured-{s.recorded + 1:04d}-roi_align[{attrs.label()}]-{DT[str(features.dtype)]}-{_site(frame)}"
        tags = (SUITE, str(features.dtype), Port.MAPPED.value, f"boxes-{form}")
        self.cases.append(Case(case_id, SUITE, attrs, {"features": features, "rois": rois}, Port.MAPPED, tags, form))
        s.recorded += 1
        s.recorded_bytes += size
        s.scales.append(attrs.spatial_scale)


def _bindings(original: Callable[..., Any]) -> list[tuple[ModuleType, str]]:
    """Every (module, global name) currently bound to ``original``: where callers look it up."""
    found = []
    for module in list(sys.modules.values()):
        names = getattr(module, "__dict__", None)
        if not isinstance(names, dict):
            continue
        for name, value in list(names.items()):
            if value is original:
                found.append((module, name))
    return found


class capture:  # noqa: N801 - used as ``with parity.capture(DIR):``, like a function
    """Record the torchvision ``roi_align`` calls made inside the ``with`` block into ``folder``.

    ``with parity.capture("captured/") as summary: model(images)`` then
    ``parity run --fixtures captured/``.  ``summary`` (a CaptureSummary) says how many calls were
    recorded and how many were left out by ``max_calls`` / ``max_bytes`` or because the fixture
    format cannot hold them (bfloat16, quantized tensors).  The fixtures are written on exit,
    also when the block raises.
    """

    def __init__(self, folder: str | Path, max_calls: int = MAX_CALLS, max_bytes: int = MAX_BYTES):
        if not isinstance(max_calls, int) or max_calls < 1 or not isinstance(max_bytes, int) or max_bytes < 1:
            raise UsageError(f"parity.ops.roi_align.capture: max_calls and max_bytes must be positive integers; got {max_calls!r}, {max_bytes!r}")
        self.folder = Path(folder)
        self.max_calls, self.max_bytes = max_calls, max_bytes
        self._recorder: _Recorder | None = None
        self._patched: list[tuple[ModuleType, str]] = []

    def __enter__(self) -> CaptureSummary:
        from parity.engine.files import probe_writable

        import torchvision.ops  # noqa: F401 - loads the modules that bind roi_align
        import torchvision.ops.poolers  # noqa: F401

        module = sys.modules["torchvision.ops.roi_align"]
        original = module.roi_align
        if getattr(original, _MARK, False):
            raise UsageError("parity.ops.roi_align.capture is already active; captures do not nest")
        probe_writable(self.folder)
        recorder = _Recorder(self.folder, self.max_calls, self.max_bytes, inspect.signature(original))

        def roi_align(*args: Any, **kwargs: Any) -> Any:
            if recorder.active:
                recorder.record(args, kwargs, sys._getframe(1))
            return original(*args, **kwargs)

        roi_align.__wrapped__ = original  # type: ignore[attr-defined]
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(roi_align, attr, getattr(original, attr))
        setattr(roi_align, _MARK, True)
        self._recorder = recorder
        self._patched = _bindings(original)
        for mod, name in self._patched:
            setattr(mod, name, roi_align)
        self._original = original
        return recorder.summary

    def __exit__(self, *exc: object) -> None:
        recorder = self._recorder
        assert recorder is not None
        recorder.active = False  # a module imported inside the block may keep the wrapper: it passes through
        for mod, name in self._patched:
            setattr(mod, name, self._original)
        self._patched = []
        from parity.ops.roi_align import fixtures

        fixtures.save(recorder.cases, self.folder, SUITE, info={"captured": recorder.summary.to_json()})

