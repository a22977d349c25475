"""The parity command lines that reports and messages print for people to copy and paste.

One function per command, each word quoted by parity.engine.text.shell_word: a case id or a path from a
stranger stays one argument and never runs anything when the line is pasted into a shell.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from parity.engine.text import shell_word

#: A run that replays a fixture folder is labelled ``fixtures:<folder>`` in place of a suite name.
FIXTURES_LABEL = "fixtures:"
_REFERENCE = "reference"  # always runs; not a --runners choice that needs repeating


def command(*words: str) -> str:
    """A shell command line whose words are exactly ``words``."""
    return " ".join(shell_word(w) for w in words)


def suite_label(suite: str, fixtures: Path | str | None) -> str:
    """What a run records as its suite: the suite name, or ``fixtures:<folder>`` for a replay."""
    return suite if fixtures is None else f"{FIXTURES_LABEL}{fixtures}"


def fixtures_folder(label: str) -> str | None:
    """The fixture folder a suite label names (None for a generated suite)."""
    return label[len(FIXTURES_LABEL) :] if label.startswith(FIXTURES_LABEL) else None


def repro(label: str, case_id: str, runners: Sequence[str] = (), op: str = "roi_align") -> str:
    """``parity run`` for one case of a run: the same suite (or fixture folder) and frameworks.

    ``-k`` selects by substring, so the exact id selects the case (and any case whose id
    contains it).  A fixture folder is given as the run was given it (relative to where that
    run started).
    """
    folder = fixtures_folder(label)
    words = ["parity", "run", *(["--op", op] if op != "roi_align" else [])]
    words += ["--fixtures", folder] if folder is not None else ["--suite", label]
    frameworks = [r for r in runners if r != _REFERENCE]
    if frameworks:
        words += ["--runners", ",".join(frameworks)]
    return command(*words, "-k", case_id)


def resume(out_dir: Path | str) -> str:
    """``parity run --resume`` for an interrupted run's folder."""
    return command("parity", "run", "--resume", str(out_dir))
