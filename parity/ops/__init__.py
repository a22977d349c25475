"""The op registry: every op parity can judge, each one folder under parity.ops.

An op folder's ``__init__`` builds its ``parity.op.Op`` (``OP``); adding an op is its folder plus
one line here.  Op folders may import the engine (parity.model, parity.op, parity.compare, ...)
and their own modules, never another op's.
"""
from __future__ import annotations

import importlib

from parity.errors import UsageError
from parity.op import Op

#: op name -> the package that defines it
OPS: dict[str, str] = {
    "roi_align": "parity.ops.roi_align",
}

DEFAULT_OP = "roi_align"


def get(name: str) -> Op:
    """The registered op ``name`` (a usage error names the choices)."""
    if name not in OPS:
        raise UsageError(f"unknown op {name!r}; choose one of: {', '.join(OPS)}")
    op: Op = importlib.import_module(OPS[name]).OP
    return op
