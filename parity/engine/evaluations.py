"""The reference evaluations a case's verdicts need: every framework's documented semantics and
every semantics a declared divergence predicts for it, each evaluated once.

A semantics is any value with a ``key`` naming its evaluation (the reference's outputs are stored
under it), so two frameworks, or a framework and a prediction, that compute the same thing share
one evaluation.  Every op's request to its reference builds its list here; :func:`request` is the
whole request of an op whose runners need nothing else.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from parity.engine.model import Case
from parity.engine.op import REFERENCE


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


class Sendable(Keyed, Protocol):
    def to_json(self) -> dict[str, Any]: ...


Request = Callable[[Case, str, tuple[str, ...], bool], tuple[dict[str, Any], dict[str, np.ndarray]]]


def request(semantics_needed: Callable[[Case, tuple[str, ...]], Sequence[Sendable]]) -> Request:
    """``Op.request`` for an op whose runners take its attrs, port and input arrays as they are and
    whose reference also gets every semantics the case's verdicts need (``semantics_needed``)."""

    def build(case: Case, runner: str, frameworks: tuple[str, ...], grad: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header: dict[str, Any] = {"attrs": case.attrs.to_json(), "port": case.port.value}
        if runner == REFERENCE:
            header["semantics"] = [s.to_json() for s in semantics_needed(case, frameworks)]
        return header, dict(case.inputs)

    return build
