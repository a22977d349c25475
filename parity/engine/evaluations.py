"""The reference evaluations a case's verdicts need: every framework's documented semantics and
every semantics a declared divergence predicts for it, each evaluated once.

A semantics is any value with a ``key`` naming its evaluation (the reference's outputs are stored
under it), so two frameworks, or a framework and a prediction, that compute the same thing share
one evaluation.  Every op's request to its reference builds its list here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


S = TypeVar("S", bound=Keyed)


def needed(frameworks: Sequence[str], semantics_of: Callable[[str], Iterable[S]]) -> list[S]:
    """``semantics_of(framework)`` for every framework, in order, the first of each key kept."""
    wanted: dict[str, S] = {}
    for fw in frameworks:
        for sem in semantics_of(fw):
            wanted.setdefault(sem.key, sem)
    return list(wanted.values())
