"""Where a run's time goes, per case: ``parity run --profile``.

The driver times its own phases (building the cases, sending them, waiting for the workers,
judging, writing results); each worker reports the seconds its runner spent on a case, measured
inside the worker around the call (so pipe transfers are not in it).  The workers compute side by
side and while the driver judges the previous case, so the phases add up to more than the wall
time: the largest of them is the bottleneck.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Profile:
    """Seconds per phase, summed over a run's cases."""

    seconds: dict[str, float] = field(default_factory=dict)
    cases: int = 0

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - start)

    def lines(self, wall: float, startup: float) -> list[str]:
        """The breakdown as text: ms per case for each phase, and the rate after start-up."""
        n = max(self.cases, 1)
        after = max(wall - startup, 1e-9)
        out = [f"profile: {self.cases} cases, {after:.2f} s after {startup:.2f} s of worker start-up "
               f"({self.cases / after:.1f} cases/s after start-up); ms per case:"]
        width = max((len(p) for p in self.seconds), default=0)
        for phase, s in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            out.append(f"  {phase:<{width}}  {s / n * 1e3:8.3f}")
        out.append("  (worker phases run side by side and overlap the driver's: the largest is the bottleneck)")
        return out
