"""The layout is the architecture: what each folder may import.

Engine, reporters and shells reach ops and frameworks only through the registries (parity.ops,
parity.frameworks) and an ``Op``; an op folder never imports another op; a framework module only
the engine.  Checked on the source (every import statement, lazy ones inside functions too).
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "parity"
REGISTRIES = ("parity.ops", "parity.frameworks")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return [m for m in found if m == "parity" or m.startswith("parity.")]


def _allowed(module: str) -> tuple[str, ...]:
    """Prefixes of the parity modules ``module`` may import."""
    if module.startswith("parity.shells"):  # the command line is split over modules of its own folder
        return ("parity.engine", "parity.reporters", "parity.shells", *REGISTRIES)
    if module.startswith("parity.engine") or module.startswith("parity.reporters"):
        return ("parity.engine", "parity.reporters", *REGISTRIES)
    if module.startswith("parity.frameworks"):
        return ("parity.engine", "parity.frameworks")
    if module.startswith("parity.ops."):
        own = ".".join(module.split(".")[:3])
        shells = ("parity.shells",) if module == f"{own}.commands" else ()  # the op's own CLI commands
        return ("parity.engine", "parity.frameworks", "parity.reporters", *shells, own)
    return ("parity",)  # parity/__init__.py and __main__.py: the package's front door


def _importer_cases():
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts]


def _is_allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    if name in REGISTRIES:
        return True  # `from parity import ops` and the registries themselves
    return any(name == p or name.startswith(p + ".") for p in prefixes) or name in ("parity",)


@pytest.mark.parametrize("path", _importer_cases(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_each_module_imports_only_what_its_folder_may(path):
    module = _module(path)
    prefixes = _allowed(module)
    bad = []
    for name in _imports(path):
        # `from parity.ops import roi_align` names an op module; `from parity import ops` the registry
        if name.startswith("parity.ops.") and module.startswith(("parity.engine", "parity.reporters", "parity.shells")):
            bad.append(name)
        elif not _is_allowed(name, prefixes):
            bad.append(name)
    assert not bad, f"{module} imports {bad}; it may import {prefixes} and the registries"


def test_the_engine_names_no_op_or_framework_module():
    """Not even as a string (a registry of module paths belongs to the op or the framework registry)."""
    offenders = []
    for path in (PACKAGE / "engine").rglob("*.py"):
        text = path.read_text()
        for word in ("parity.ops.", "parity.frameworks."):
            if word in text:
                offenders.append((path.name, word))
    assert not offenders, offenders


def test_every_folder_says_what_it_may_import():
    folders = [p.parent for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE and "runners" not in p.parts]
    assert {f.name for f in folders} >= {"engine", "ops", "frameworks", "reporters", "shells", "roi_align"}
    for folder in folders:
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
        assert "may import" in doc.lower(), folder


#: The most lines a module may have: past it a module holds more than one concept.
MAX_LINES = 400


def test_no_module_is_over_the_line_limit():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def _compiled(tree: ast.Module) -> set[str]:
    """Names of the functions a module compiles with numba (decorated ``@njit(...)``)."""
    def is_njit(d: ast.expr) -> bool:
        f = d.func if isinstance(d, ast.Call) else d
        return isinstance(f, ast.Name) and f.id == "njit" or isinstance(f, ast.Attribute) and f.attr == "njit"

    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and any(is_njit(d) for d in n.decorator_list)}


def test_no_cached_numba_function_calls_one_compiled_in_another_module():
    """numba checks a cached function against its own file only: a compiled function imported from
    another module could change there and leave this module's cache on the old code."""
    modules = {_module(p): ast.parse(p.read_text()) for p in PACKAGE.rglob("*.py")}
    compiled = {m: _compiled(tree) for m, tree in modules.items()}
    crossing = []
    for m, tree in modules.items():
        if not compiled[m]:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            for a in node.names:
                if a.name in compiled.get(node.module, ()):  # a compiled function
                    crossing.append(f"{m} imports {node.module}.{a.name}")
                elif compiled.get(f"{node.module}.{a.name}"):  # a module with compiled functions
                    crossing.append(f"{m} imports the module {node.module}.{a.name}")
    assert not crossing
