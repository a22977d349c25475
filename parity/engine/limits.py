"""Memory per case, and the limit a case must fit in.

Each op estimates what a case costs from its shapes alone (``parity.engine.op.Op.case_bytes``;
the generic estimate otherwise); a case is refused before any worker sees it when the estimate
exceeds ``--max-case-mb``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from parity.engine.errors import UsageError
from parity.engine.model import Case

#: Default of ``parity run --max-case-mb``: a case estimated above this is refused.  The reference
#: worker's measured peak is about twice the estimate (a W2-sized case: estimate 888 MiB, peak RSS
#: 1,767 MiB), and the driver holds the outputs it receives, so 4 GiB leaves room on a 24 GiB machine.
DEFAULT_MAX_CASE_MB = 4096
DEFAULT_MAX_CASE_BYTES = DEFAULT_MAX_CASE_MB << 20
OPTION = "--max-case-mb"


def elements(shape: Sequence[int]) -> int:
    return math.prod(max(int(d), 0) for d in shape)


def generic_case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    """An op without its own estimate: every runner's copy of the inputs, as float64, per framework."""
    inputs = sum(elements(a.shape) for a in case.inputs.values())
    return 8 * inputs * (2 + 2 * len(frameworks))


def describe(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):,.0f} MB"


def check(
    cases: list[Case],
    frameworks: tuple[str, ...],
    grad: bool,
    limit: int,
    estimate_case: Callable[[Case, tuple[str, ...], bool], int] = generic_case_bytes,
) -> None:
    """Refuse the run (a usage error, before any worker starts) when a case exceeds ``limit`` bytes."""
    over = [(case, need) for case in cases if (need := estimate_case(case, frameworks, grad)) > limit]
    if not over:
        return
    case, need = over[0]
    more = f" ({len(over) - 1} more cases too)" if len(over) > 1 else ""
    shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in case.inputs.items())
    raise UsageError(
        f"case {case.id!r} needs an estimated {describe(need)} ({shapes}), more than "
        f"{OPTION} {limit >> 20}{more}; raise {OPTION} or leave the case out with -k"
    )
