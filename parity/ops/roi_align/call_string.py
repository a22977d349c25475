"""A ``roi_align(...)`` call as a user writes it in torchvision, read as data (never evaluated).

``roi_align(x, rois, 7, 1/16, 2, aligned=True)`` or ``torchvision.ops.roi_align(output_size=(7, 7),
spatial_scale=0.0625, sampling_ratio=2, aligned=True)``: positional or keyword arguments in the order
of torchvision's signature ``roi_align(input, boxes, output_size, spatial_scale=1.0,
sampling_ratio=-1, aligned=False)``.  The text is parsed with :mod:`ast` and only literals, tuples
and arithmetic on numbers (``1/16``, ``2**-4``) are accepted; ``input`` and ``boxes`` may be any
name (they stand for the arrays given separately).  Anything else is a one-line usage error.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable

from parity.engine.errors import UsageError
from parity.ops.roi_align.attrs import Attrs

#: torchvision.ops.roi_align's parameters, in order.
PARAMETERS = ("input", "boxes", "output_size", "spatial_scale", "sampling_ratio", "aligned")
DEFAULTS = {"spatial_scale": 1.0, "sampling_ratio": -1, "aligned": False}
MAX_TEXT = 2000

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def number(text: str, what: str) -> float:
    """A number written as a literal or simple arithmetic (``1/16``, ``0.0625``, ``2**-4``)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise UsageError(f"{what} must be a number such as 0.0625 or 1/16; got {text!r}") from None
    value = _value(tree.body, what)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{what} must be a finite number such as 0.0625 or 1/16; got {text!r}")
    return float(value)


def _value(node: ast.AST, what: str) -> Any:
    """A literal's value: constants, tuples/lists of them and arithmetic on numbers; nothing else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, what) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _value(node.operand, what)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return _UNARY[type(node.op)](operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, what), _value(node.right, what)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise UsageError(f"{what}: exponent {right} is too large; write the number itself")
            try:
                return _BINARY[type(node.op)](left, right)
            except (ZeroDivisionError, OverflowError) as exc:
                raise UsageError(f"{what}: {ast.unparse(node)} cannot be computed ({exc})") from None
    raise UsageError(
        f"{what}: {ast.unparse(node)!r} is not a literal; write numbers, True/False, a tuple, or arithmetic such as 1/16"
    )


def _function_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def parse_call(text: str) -> Attrs:
    """The Attrs of a torchvision ``roi_align(...)`` call written as text."""
    where = "--call"
    if len(text) > MAX_TEXT:
        raise UsageError(f"{where} is {len(text)} characters; a roi_align call fits in {MAX_TEXT}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UsageError(f"{where} is not a Python call ({exc.msg}); write e.g. \"roi_align(output_size=7, spatial_scale=1/16, sampling_ratio=2, aligned=True)\"") from None
    call = tree.body
    if not isinstance(call, ast.Call) or _function_name(call.func) != "roi_align":
        raise UsageError(f"{where} must be a call of roi_align, e.g. \"roi_align(x, rois, 7, 1/16, 2, aligned=True)\"; got {text!r}")
    given: dict[str, ast.AST] = {}
    if len(call.args) > len(PARAMETERS):
        raise UsageError(f"{where}: roi_align takes at most {len(PARAMETERS)} positional arguments ({', '.join(PARAMETERS)}); got {len(call.args)}")
    for name, node in zip(PARAMETERS, call.args):
        if isinstance(node, ast.Starred):
            raise UsageError(f"{where}: *args is not supported; write the arguments out")
        given[name] = node
    for kw in call.keywords:
        if kw.arg is None:
            raise UsageError(f"{where}: **kwargs is not supported; write the arguments out")
        if kw.arg not in PARAMETERS:
            raise UsageError(f"{where}: roi_align has no parameter {kw.arg!r}; it takes {', '.join(PARAMETERS)}")
        if kw.arg in given:
            raise UsageError(f"{where}: {kw.arg} is given twice")
        given[kw.arg] = kw.value
    if "output_size" not in given:
        raise UsageError(f"{where}: output_size is missing (torchvision requires it), e.g. roi_align(output_size=7, ...)")
    values = {name: _value(node, f"{where} {name}") for name, node in given.items() if name not in ("input", "boxes")}
    return attrs_from(values, where)


def attrs_from(values: dict[str, Any], where: str) -> Attrs:
    """Checked Attrs from roi_align's keyword values (output_size an int or a pair)."""
    v = {**DEFAULTS, **values}
    size = v["output_size"]
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, tuple) and len(size) == 2 and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size)):
        raise UsageError(f"{where} output_size must be a positive int or a pair (h, w) of them; got {v['output_size']!r}")
    scale = v["spatial_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise UsageError(f"{where} spatial_scale must be a positive number such as 1/16; got {scale!r}")
    ratio = v["sampling_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, int):
        raise UsageError(f"{where} sampling_ratio must be an int (-1 or 0: adaptive); got {ratio!r}")
    aligned = v["aligned"]
    if not isinstance(aligned, bool):
        raise UsageError(f"{where} aligned must be True or False; got {aligned!r}")
    return Attrs((size[0], size[1]), float(scale), ratio, aligned)
