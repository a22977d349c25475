"""The op registry: every op parity can judge, each one folder under parity.ops.

An op folder's ``__init__`` builds its ``parity.engine.op.Op`` (``OP``); adding an op is its
folder plus one line here.  An op folder may import the engine, the frameworks, the reporters and
its own modules, never another op's; its ``commands`` module (the op's own CLI commands) may also
use the shells.
"""
from __future__ import annotations

import importlib

from parity.engine.errors import UsageError
from parity.engine.op import Op

#: op name -> the package that defines it
OPS: dict[str, str] = {
    "roi_align": "parity.ops.roi_align",
    "box_iou": "parity.ops.box_iou",
    "nms": "parity.ops.nms",
}

DEFAULT_OP = "roi_align"


def get(name: str) -> Op:
    """The registered op ``name`` (a usage error names the choices)."""
    if name not in OPS:
        raise UsageError(f"unknown op {name!r}; choose one of: {', '.join(OPS)}")
    op: Op = importlib.import_module(OPS[name]).OP
    return op
