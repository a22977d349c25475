"""``parity check`` / ``parity.check``: do the frameworks agree on *these* arrays, for *this* call?

The user's features and rois become a fixture folder (parity.ops.roi_align.fixtures, the format ``parity
generate`` writes) holding two cases of one torchvision call: the MindSpore call as the mapping
table renames it (``Port.MAPPED``, what ``parity run`` does) and the exact translation
(``Port.TRANSLATED``, parity.ops.roi_align.translate: the same call on shifted rois).  That folder is then run
like any other (``parity run --fixtures DIR``): every framework in its worker, judged against the
reference, reports written, and the run replays, resumes and gates like any other.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parity.engine.errors import UsageError
from parity.engine.model import Case, Comparison, Port, Verdict
from parity.ops.roi_align.attrs import Attrs

SUITE = "check"
FIXTURES = "fixtures"  # the fixture folder's name inside the output folder
FLOATS = ("float16", "float32", "float64")
#: Frameworks ``check`` runs by default: those importable here (each named as its package; the CUDA runner only when asked).
DEFAULT_FRAMEWORKS = ("torchvision", "mindspore", "onnxruntime", "paddle")


def installed_frameworks() -> tuple[str, ...]:
    """The default frameworks whose package is importable (found, not imported: workers import them)."""
    from parity import frameworks

    return frameworks.installed(DEFAULT_FRAMEWORKS) or ("torchvision",)


def check_arrays(features: np.ndarray, rois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The user's arrays if torchvision's roi_align takes them as ``(input, boxes)``; else one line saying why."""
    features, rois = np.ascontiguousarray(features), np.ascontiguousarray(rois)
    if features.ndim != 4:
        raise UsageError(f"features must be [N, C, H, W] (4 dimensions); got shape {list(features.shape)}")
    if rois.ndim != 2 or rois.shape[1] != 5:
        hint = "; add the batch index as column 0 (e.g. np.insert(boxes, 0, 0, axis=1))" if rois.ndim == 2 and rois.shape[1] == 4 else ""
        raise UsageError(f"rois must be [K, 5] (batch index, x1, y1, x2, y2); got shape {list(rois.shape)}{hint}")
    if str(features.dtype) not in FLOATS:
        raise UsageError(f"features must be float16, float32 or float64; got {features.dtype}")
    if rois.dtype != features.dtype:
        raise UsageError(
            f"rois are {rois.dtype} and features {features.dtype}; torchvision needs one dtype: save the rois as {features.dtype}"
        )
    if 0 in features.shape or len(rois) == 0:
        raise UsageError(f"features {list(features.shape)} and rois {list(rois.shape)} must not be empty")
    return features, rois


def case_id(attrs: Attrs, dtype: str, port: Port) -> str:
    from parity.ops.roi_align.generate import DT

    return f"{SUITE}[{attrs.label()}]-{DT[dtype]}-{port.value}"


def cases(features: np.ndarray, rois: np.ndarray, attrs: Attrs) -> list[Case]:
    """The renamed and the translated MindSpore call on the user's arrays (the same torchvision call)."""
    features, rois = check_arrays(features, rois)
    dtype = str(features.dtype)
    return [
        Case(case_id(attrs, dtype, port), SUITE, attrs, {"features": features, "rois": rois}, port, (SUITE, port.value, dtype))
        for port in (Port.MAPPED, Port.TRANSLATED)
    ]


def write_fixtures(features: np.ndarray, rois: np.ndarray, attrs: Attrs, out_dir: Path) -> Path:
    """``out_dir/fixtures``: the two cases as a fixture folder; returns it."""
    from parity.ops.roi_align import fixtures

    folder = Path(out_dir) / FIXTURES
    fixtures.save(cases(features, rois, attrs), folder, SUITE)
    return folder


@dataclass(frozen=True)
class Row:
    """One comparison of a check: which MindSpore call, which pair, the verdict, the largest |diff|."""

    call: str  # "renamed" or "translated"
    actual: str
    expected: str
    verdict: str
    max_abs: float | None
    divergence: str | None
    message: str


_CALLS = {Port.MAPPED.value: "renamed", Port.TRANSLATED.value: "translated"}


@dataclass(frozen=True)
class CheckResult:
    """The verdicts of ``parity.check``: per MindSpore call (renamed, translated) and per comparison."""

    attrs: Attrs
    out: Path
    fixtures: Path
    reports: tuple[str, ...]
    rows: tuple[Row, ...]
    exit_code: int  # what ``parity check`` exits with: 0, or 1 for an unexpected verdict

    @property
    def translated_agrees(self) -> bool:
        """Whether MindSpore under the translation passes against torchvision and the reference."""
        mine = [r for r in self.rows if r.call == "translated" and "mindspore" in (r.actual, r.expected)]
        return bool(mine) and all(r.verdict == Verdict.PASS.value for r in mine)

    def verdict(self, call: str, actual: str, expected: str) -> str | None:
        return next((r.verdict for r in self.rows if (r.call, r.actual, r.expected) == (call, actual, expected)), None)

    def lines(self) -> list[str]:
        from parity.engine import text

        head = f"parity check: torchvision.ops.roi_align({self.attrs.label()}) on your arrays; reports in {self.out}"
        out = [text.visible(head)]
        for r in self.rows:
            diff = "-" if r.max_abs is None else f"{r.max_abs:.3g}"
            why = f" ({r.divergence})" if r.divergence else ""
            out.append(text.visible(f"  {r.call:<10} {r.actual} vs {r.expected}: {r.verdict}{why}, max |diff| {diff}"))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        from parity.engine.text import html

        cells = "".join(
            "<tr>" + "".join(f"<td>{html(str(v))}</td>" for v in (
                r.call, f"{r.actual} vs {r.expected}", r.verdict, r.divergence or "",
                "-" if r.max_abs is None else f"{r.max_abs:.3g}")) + "</tr>"
            for r in self.rows
        )
        return (
            f"<p>parity check of <code>roi_align({html(self.attrs.label())})</code>; reports in "
            f"<code>{html(str(self.out))}</code></p><table><tr><th>MindSpore call</th><th>pair</th>"
            f"<th>verdict</th><th>divergence</th><th>max |diff|</th></tr>{cells}</table>"
        )


def rows(comparisons: list[Comparison], ports: dict[str, str]) -> tuple[Row, ...]:
    """The comparisons, labelled by the MindSpore call of their case (for the translated
    case only MindSpore's: the other frameworks make the same call in both cases)."""
    return tuple(
        Row(_CALLS[ports[c.case_id]], c.actual, c.expected, c.verdict.value,
            c.metrics.max_abs if c.metrics else None, c.divergence, c.message)
        for c in comparisons
        if c.case_id in ports
        and (ports[c.case_id] != Port.TRANSLATED.value or any(n.startswith("mindspore") for n in (c.actual, c.expected)))
    )


def result(attrs: Attrs, out: Path, folder: Path, reports: list[str], comparisons: list[Comparison], exit_code: int) -> CheckResult:
    from parity.ops.roi_align import fixtures

    ports = {c.id: c.port.value for c in fixtures.load(folder)}
    return CheckResult(attrs, out, folder, tuple(reports), rows(comparisons, ports), exit_code)


def check(
    features: np.ndarray,
    rois: np.ndarray,
    output_size: int | tuple[int, int] = 7,
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
    *,
    out: Path | str | None = None,
    runners: str | tuple[str, ...] | None = None,
    timeout: float = 60.0,
    grad: bool = False,
) -> CheckResult:
    """Run the renamed and the translated MindSpore call (and every other framework) on these arrays.

    Writes the fixture folder and the reports to ``out`` (default: a new temporary folder), exactly
    as ``parity check --out OUT`` does; the arrays are numpy arrays (or anything ``np.asarray`` takes).
    ``runners`` defaults to every framework installed here; ``grad`` also compares the gradients.
    """
    from parity.engine import commands, results, session, summary
    from parity.ops.roi_align.call_string import attrs_from
    from parity.reporters import write_all

    size = tuple(output_size) if isinstance(output_size, (list, tuple)) else output_size
    attrs = attrs_from(
        {"output_size": size, "spatial_scale": spatial_scale, "sampling_ratio": sampling_ratio, "aligned": aligned}, "check:"
    )
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="parity-check-"))
    folder = write_fixtures(np.asarray(features), np.asarray(rois), attrs, out_dir)
    if isinstance(runners, str):
        runners = tuple(runners.split(","))
    chosen = session.parse_runners(",".join(runners or installed_frameworks()))
    meta = results.RunMeta(commands.suite_label(SUITE, str(folder)), None, chosen, (1, 1), str(folder), grad=grad)
    all_cases = meta.all_cases()
    report = session.run(all_cases, meta, out_dir, timeout=timeout)
    written = write_all(report, all_cases, out_dir)
    return result(attrs, out_dir, folder, written, report.comparisons, summary.exit_code(report))
