"""Which comparisons every op's judge makes, in which order: the one list of pairs.

Each framework against the reference (under what that framework documents), then each other
framework against the first one, the framework users migrate from (frameworks come in the op's
order: parity.engine.session.parse_runners).  The judges build their comparisons from it, the
pytest plugin names its items from it before anything runs, and reports label comparisons with
:func:`label`.
"""
from __future__ import annotations

from collections.abc import Sequence

from parity.engine.op import REFERENCE


def label(actual: str, expected: str) -> str:
    """``mindspore vs torchvision``: how reports, baselines and plugin items name a comparison."""
    return f"{actual} vs {expected}"


def framework_pairs(frameworks: Sequence[str]) -> list[tuple[str, str]]:
    """``(target, source)`` for every framework after the first, each judged against the first."""
    return [(target, frameworks[0]) for target in frameworks[1:]]


def expected_labels(runners: Sequence[str]) -> list[str]:
    """The labels of the comparisons a case gets from ``runners`` (the reference among them or not), in order."""
    frameworks = [r for r in runners if r != REFERENCE]
    own = [label(fw, REFERENCE) for fw in frameworks]
    return own + [label(target, source) for target, source in framework_pairs(frameworks)]
