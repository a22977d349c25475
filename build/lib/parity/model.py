"""Frozen data that crosses module boundaries: cases, run results, comparisons, verdicts."""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Attrs:
    """A torchvision ``roi_align`` call's parameters (the language every case is written in)."""

    output_size: tuple[int, int]
    spatial_scale: float = 1.0
    sampling_ratio: int = -1
    aligned: bool = False

    def label(self) -> str:
        ph, pw = self.output_size
        return f"aligned={int(self.aligned)},sr={self.sampling_ratio},out={ph}x{pw},s={self.spatial_scale:g}"

    def to_json(self) -> dict[str, Any]:
        return {
            "output_size": list(self.output_size),
            "spatial_scale": self.spatial_scale,
            "sampling_ratio": self.sampling_ratio,
            "aligned": self.aligned,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attrs:
        ph, pw = d["output_size"]
        return cls((int(ph), int(pw)), float(d["spatial_scale"]), int(d["sampling_ratio"]), bool(d["aligned"]))


class Port(str, enum.Enum):
    """How the MindSpore call is derived from the torchvision one."""

    MAPPED = "mapped"  # every argument translated through the mapping table
    DEFAULTS = "defaults"  # a user who only renamed the call: MindSpore's own defaults apply


@dataclass(frozen=True, eq=False)
class Case:
    """One set of inputs and one torchvision call; everything else is derived from its id."""

    id: str
    suite: str
    attrs: Attrs
    features: np.ndarray
    rois: np.ndarray
    port: Port = Port.MAPPED
    tags: tuple[str, ...] = ()
    boxes: str = "tensor"  # torchvision boxes form: "tensor" ([K,5]) or "list" (one [L,4] per image)
    layout: str = "contiguous"  # "non-contiguous": runners pass strided views of the same values

    @property
    def invalid(self) -> bool:
        """A robustness case: judged on how frameworks react, not on numbers (parity.invalid)."""
        return self.suite == "invalid"

    @property
    def dtype(self) -> str:
        return str(self.features.dtype)


class Status(str, enum.Enum):
    """What happened when a runner executed a case."""

    OK = "ok"
    ERROR = "error"  # the framework raised
    CRASH = "crash"  # the framework's process died
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"  # the framework cannot express this case (e.g. a dtype)


@dataclass(frozen=True, eq=False)
class RunResult:
    """One runner's outputs for one case. ``outputs`` maps output names to arrays."""

    case_id: str
    runner: str
    status: Status
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    determinism: dict[str, dict[str, float]] = field(default_factory=dict)  # output -> distinct, spread


class Verdict(str, enum.Enum):
    PASS = "PASS"
    MISMATCH = "MISMATCH"
    EXPECTED_DIVERGENCE = "EXPECTED_DIVERGENCE"
    DIVERGENCE_CHANGED = "DIVERGENCE_CHANGED"
    ERROR = "ERROR"
    CRASH = "CRASH"
    TIMEOUT = "TIMEOUT"
    UNSUPPORTED = "UNSUPPORTED"

    @property
    def unexpected(self) -> bool:
        """Whether this verdict should fail a run (and a CI gate)."""
        return self in (Verdict.MISMATCH, Verdict.DIVERGENCE_CHANGED, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT)


@dataclass(frozen=True)
class Tolerance:
    """``|actual - expected| <= atol + rtol * |expected|``; both given or neither (dtype default)."""

    rtol: float
    atol: float
    reason: str


@dataclass(frozen=True)
class Metrics:
    """Float64 error metrics of ``actual`` against ``expected``."""

    total: int
    mismatched: int
    max_abs: float
    max_abs_index: tuple[int, ...] | None
    max_rel: float
    max_ulp: float
    nan_mismatch: int
    pattern: str = ""  # where and how the mismatched elements differ (parity.compare.pattern)


@dataclass(frozen=True)
class Comparison:
    """One pair (``actual`` vs ``expected``) for one case, with its verdict and evidence."""

    case_id: str
    actual: str
    expected: str
    verdict: Verdict
    tolerance: Tolerance | None
    metrics: Metrics | None
    message: str
    divergence: str | None = None

    @classmethod
    def from_json(cls, case_id: str, d: dict[str, Any]) -> Comparison:
        metrics = d["metrics"]
        if metrics is not None:
            index = metrics["max_abs_index"]
            metrics = Metrics(**{**metrics, "max_abs_index": tuple(index) if index is not None else None})
        return cls(
            case_id,
            d["actual"],
            d["expected"],
            Verdict(d["verdict"]),
            Tolerance(**d["tolerance"]) if d["tolerance"] else None,
            metrics,
            d["message"],
            d["divergence"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "actual": self.actual,
            "expected": self.expected,
            "verdict": self.verdict.value,
            "divergence": self.divergence,
            "tolerance": asdict(self.tolerance) if self.tolerance else None,
            "metrics": asdict(self.metrics) if self.metrics else None,
            "message": self.message,
        }
