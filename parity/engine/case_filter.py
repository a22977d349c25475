"""The one case filter (``-k`` in the CLI, ``--parity-k`` in the pytest plugin): a substring of the
case id, a tag, or an expression over the case's attributes.

Case ids hold ``=``, ``[`` and ``,``, which pytest's own ``-k`` cannot parse, so a selection is
better written over attributes: ``-k "aligned and dtype == 'float16'"``,
``-k "sampling_ratio <= 0 and 'edge' in tags"``.  A text is an expression when it parses as one
with a comparison, ``and``, ``or`` or ``not`` at the top; anything else (``edge-zero-size``,
``float16``, a whole case id) is a substring or a tag, as before.  The expression is walked with
``ast``, never evaluated: names, literals, comparisons and boolean operators only.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Callable, Iterable, Mapping

from parity.engine.errors import UsageError
from parity.engine.model import Case

#: The names an expression may use for any op, and what they are for a case; an op adds its own
#: (parity.engine.op.Op.filter_attributes: its parameters and input sizes).
NAMES: dict[str, Callable[[Case], Any]] = {
    "id": lambda c: c.id,
    "op": lambda c: c.op,
    "suite": lambda c: c.suite,
    "dtype": lambda c: c.dtype,
    "port": lambda c: c.port.value,
    "boxes": lambda c: c.boxes,
    "layout": lambda c: c.layout,
    "tags": lambda c: c.tags,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def _expression(text: str) -> ast.expr | None:
    """The parsed expression, if ``text`` is one (a comparison or boolean operator at the top)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    top = isinstance(tree, (ast.Compare, ast.BoolOp)) or (isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not))
    return tree if top else None


def _value(node: ast.expr, case: Case, text: str, names: Mapping[str, Callable[[Case], Any]] = NAMES) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id](case)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, case, text, names) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _value(node.operand, case, text, names)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"cannot negate {value!r} in the case filter {text!r}")
        return -value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, case, text, names)
    if isinstance(node, ast.BoolOp):
        values = (bool(_value(v, case, text, names)) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _value(node.left, case, text, names)
        for op, right_node in zip(node.ops, node.comparators):
            right = _value(right_node, case, text, names)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise UsageError(f"cannot compare in the case filter {text!r}: {exc}") from None
            left = right
        return True
    raise UsageError(
        f"the case filter {text!r} may use only names, literals, comparisons, and/or/not (found {type(node).__name__})"
    )


_ALLOWED = (
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Name, ast.Load,
    ast.Constant, ast.Tuple, ast.List, *_COMPARE,
)


def _check(tree: ast.expr, text: str, names: Mapping[str, Callable[[Case], Any]]) -> None:
    """Refuse, before any case is looked at, what the filter language does not have."""
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED) or (isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.Not, ast.USub))):
            raise UsageError(
                f"the case filter {text!r} may use only names, literals, comparisons, and/or/not (found {type(node).__name__})"
            )
        if isinstance(node, ast.Name) and node.id not in names:
            raise UsageError(f"unknown name {node.id!r} in the case filter {text!r}; use one of: {', '.join(names)}")


def matches(text: str | None, extra: Mapping[str, Callable[[Case], Any]] | None = None) -> Callable[[Case], bool]:
    """A predicate for the filter ``text`` (None: every case); ``extra`` adds an op's own names."""
    if text is None:
        return lambda case: True
    tree = _expression(text)
    if tree is None:
        return lambda case: text in case.id or text in case.tags
    names = {**NAMES, **(extra or {})}
    _check(tree, text, names)
    return lambda case: bool(_value(tree, case, text, names))


#: How an op's suite is called (parity.engine.op.Op.suites): keyword, budget, seed -> its cases.
Suite = Callable[[str | None, int | None, int | None], list[Case]]


def suite(make: Callable[[], Iterable[Case]], extra: Mapping[str, Callable[[Case], Any]]) -> Suite:
    """A fixed suite: the cases ``make`` builds that the keyword selects (budget and seed do not apply)."""

    def cases(keyword: str | None, budget: int | None, seed: int | None) -> list[Case]:
        selected = matches(keyword, extra)
        return [c for c in make() if selected(c)]

    return cases


def random_suite(make: Callable[[int, int], Iterable[Case]], budget: int, seed: int, extra: Mapping[str, Callable[[Case], Any]]) -> Suite:
    """A random suite: ``make(budget, seed)`` with the op's defaults where none is given, keyword-selected."""

    def cases(keyword: str | None, given_budget: int | None, given_seed: int | None) -> list[Case]:
        n = budget if given_budget is None else given_budget
        s = seed if given_seed is None else given_seed
        return suite(lambda: make(n, s), extra)(keyword, None, None)

    return cases
