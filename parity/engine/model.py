"""Frozen data that crosses module boundaries: cases, run results, comparisons, verdicts."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


class Port(str, enum.Enum):
    """How the ported call is derived from the source framework's call."""

    MAPPED = "mapped"  # every argument translated through the mapping table
    DEFAULTS = "defaults"  # a user who only renamed the call: MindSpore's own defaults apply
    #: the exact translation (parity translate): the mapped call, on rois shifted for MindSpore
    TRANSLATED = "translated"


@dataclass(frozen=True, eq=False)
class Case:
    """One set of named inputs and one call of an op; everything else is derived from its id.

    ``attrs`` is the op's parameters (its own frozen dataclass with ``label()`` and ``to_json()``),
    ``inputs`` its arrays by argument name; an input is also readable as an attribute
    (``case.features``), so an op's code reads like the op's own signature.
    """

    id: str
    suite: str
    attrs: Any
    inputs: Mapping[str, np.ndarray]
    port: Port = Port.MAPPED
    tags: tuple[str, ...] = ()
    boxes: str = "tensor"  # how boxes are passed where an op accepts two forms ("tensor" or "list")
    layout: str = "contiguous"  # "non-contiguous": runners pass strided views of the same values
    op: str = "roi_align"  # the registered op (parity.ops) this case calls

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("__") or name == "inputs":
            raise AttributeError(name)
        try:
            return self.inputs[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} {self.id!r} has no input or field {name!r}") from None

    def with_inputs(self, **arrays: np.ndarray) -> Case:
        """The same case with some inputs replaced (shrinking, variants)."""
        return dataclasses.replace(self, inputs={**self.inputs, **arrays})

    @property
    def invalid(self) -> bool:
        """A robustness case: judged on how frameworks react, not on numbers (an op's invalid suite)."""
        return self.suite == "invalid"

    @property
    def dtype(self) -> str:
        """The dtype of the op's first input (the one its call is computed in)."""
        return str(next(iter(self.inputs.values())).dtype)


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
    #: Agrees within the allowance, but the allowance (what rounding in this dtype explains) is not
    #: small against what is judged: the dtype cannot tell a right answer from a wrong one here.
    UNDECIDABLE = "UNDECIDABLE"

    @property
    def unexpected(self) -> bool:
        """Whether this verdict should fail a run (and a CI gate)."""
        return self in (Verdict.MISMATCH, Verdict.DIVERGENCE_CHANGED, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT)


#: Own verdicts that explain a framework's result: it computes what it documents, or what a declared
#: divergence predicts.  A pair difference is explained only when both sides' own verdicts are among these.
EXPLAINED: tuple[Verdict, ...] = (Verdict.PASS, Verdict.EXPECTED_DIVERGENCE)
#: Own verdicts that blame no framework: explained, or beyond what the dtype can decide.
NOT_BLAMED: tuple[Verdict, ...] = (*EXPLAINED, Verdict.UNDECIDABLE)


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
    pattern: str = ""  # where and how the mismatched elements differ (parity.engine.compare.pattern)


@dataclass(frozen=True)
class Undecided:
    """Where a comparison's allowance swamps what it judges (the evidence of an UNDECIDABLE).

    ``against`` names the quantity judged: ``"value"`` (the scale of the result, the mean |sample|
    of a bin) or ``"documented difference"`` (how far the two semantics the comparison must tell
    apart are from each other).  ``allowance`` and ``judged`` are the figures at ``index``, the
    element where their ratio is worst; ``exact_error`` is the actual result's largest distance
    from the exact float64 value, so its accuracy is reported whatever the verdict.
    """

    elements: int
    total: int
    index: tuple[int, ...] | None
    allowance: float
    judged: float
    against: str
    exact_error: float

    def describe(self) -> str:
        pct = 100.0 * self.elements / self.total if self.total else 0.0
        return (
            f"The dtype cannot decide: at {self.elements} / {self.total} elements ({pct:.1f}%) the allowance is not small "
            f"against the {self.against} (worst at index {self.index}: allowance {self.allowance:.3g} vs "
            f"{self.against} {self.judged:.3g}). Largest distance from the exact float64 value: {self.exact_error:.3g}"
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Undecided:
        index = d["index"]
        return cls(**{**d, "index": tuple(index) if index is not None else None})


def _fields(flat: Any) -> dict[str, Any]:
    """A flat dataclass's fields as a dict: what dataclasses.asdict gives for these (numbers,
    strings, tuples of ints) without its recursive copy, a tenth of its time on a 10000-case run."""
    return dict(vars(flat))


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
    undecided: Undecided | None = None
    #: Per named divergence, the largest finite |actual - expected| over the elements it covers
    #: (by the op's judge): the size of what it explains, not of the whole comparison.
    explained: tuple[tuple[str, float], ...] = ()

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
            Undecided.from_json(d["undecided"]) if d.get("undecided") else None,
            tuple((str(k), float(v)) for k, v in d.get("explained", {}).items()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "actual": self.actual,
            "expected": self.expected,
            "verdict": self.verdict.value,
            "divergence": self.divergence,
            "tolerance": _fields(self.tolerance) if self.tolerance else None,
            "metrics": _fields(self.metrics) if self.metrics else None,
            "message": self.message,
            "undecided": _fields(self.undecided) if self.undecided else None,
            "explained": dict(self.explained),
        }
