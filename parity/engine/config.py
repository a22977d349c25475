"""``[tool.parity]`` in the current directory's pyproject.toml: a project's defaults for ``parity run``.

A project that always runs the same suite and frameworks writes them once::

    [tool.parity]
    suite = "edge"
    runners = "torchvision,mindspore,onnxruntime"
    out = "build/parity"
    timeout = 120
    grad = true

They become click's ``default_map``: an option given on the command line still wins, and a
``--resume`` treats them as defaults, not as a request that must match the stored run.  A key
parity does not know, or a value of the wrong type, is a usage error naming the file and key.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from parity.engine.errors import UsageError

#: key in [tool.parity] -> (parameter of ``parity run``, accepted types)
KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "suite": ("suite", (str,)),
    "runners": ("runners", (str, list)),
    "out": ("out_dir", (str,)),
    "timeout": ("timeout", (int, float)),
    "grad": ("grad", (bool,)),
}
#: A pyproject.toml larger than this is not read (it is not a project file).
PYPROJECT_LIMIT = 4 << 20


def load(folder: Path | None = None) -> dict[str, Any]:
    """``[tool.parity]`` of ``folder``'s pyproject.toml (the current directory), checked; {} when absent."""
    path = (folder or Path.cwd()) / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > PYPROJECT_LIMIT:
            raise UsageError(f"{path} is larger than {PYPROJECT_LIMIT >> 20} MiB; parity does not read it")
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as TOML ({exc}); fix it or run parity from another directory") from None
    table = doc.get("tool", {}).get("parity", {}) if isinstance(doc.get("tool"), dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.parity] must be a table of defaults ({', '.join(KEYS)})")
    settings = {}
    for key, value in table.items():
        if key not in KEYS:
            raise UsageError(f"{path}: [tool.parity] key {key!r} is not one parity knows; use one of {', '.join(KEYS)}")
        param, types = KEYS[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            kinds = " or ".join("a list of names" if t is list else t.__name__ for t in types)
            raise UsageError(f"{path}: [tool.parity] {key} must be {kinds}, got {value!r}")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise UsageError(f"{path}: [tool.parity] {key} must list names as strings, got {value!r}")
            value = ",".join(value)
        settings[param] = value
    return settings


class _RunDefaults(dict[str, dict[str, Any]]):
    """Read only when ``parity run`` asks (click looks sub-commands up with ``get``), so a bad
    ``[tool.parity]`` never stops ``--version``, ``-h``, ``gate`` or ``translate``."""

    def __init__(self, folder: Path | None) -> None:
        super().__init__()
        self.folder = folder

    def get(self, key: Any, default: Any = None) -> Any:
        return (load(self.folder) or default) if key == "run" else default


def default_map(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """click's ``default_map`` for the ``parity`` group: the defaults of ``parity run``."""
    return _RunDefaults(folder)
