"""A declared divergence of one framework, as an op whose semantics are plain values declares it.

``predict`` maps the framework's documented semantics to what it computes instead (the judge
evaluates that too and holds the framework to it); ``documented`` says whether a documentation
states the difference (True) or it was found by measurement (False, with ``evidence``).  An op
adds what else its findings need (a predicted reaction to invalid input, a documented error not
raised) by extending the class.  The engine reads ``name``, ``documented``, ``explanation`` and
``evidence`` (parity.engine.op.Op.divergences).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from parity.engine.model import Case

S = TypeVar("S")


@dataclass(frozen=True)
class Declared(Generic[S]):
    name: str
    framework: str
    explanation: str
    documented: bool
    evidence: str
    applies: Callable[[Case], bool]
    predict: Callable[[S], S] | None = None


D = TypeVar("D", bound="Declared[Any]")


def applicable(catalogue: Sequence[D], case: Case, framework: str) -> tuple[D, ...]:
    """The divergences of ``catalogue`` declared for ``framework`` that apply to ``case``, in order."""
    return tuple(d for d in catalogue if d.framework == framework and d.applies(case))
