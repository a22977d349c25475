"""Error types and exit statuses.

A ParityError is the user's problem (one line, exit 2).  A FrameworkError is a framework's own
call raising: a result (ERROR), never parity's failure.  Anything else that escapes, and every
ParityFailure, means parity could not finish (exit 3): its results are incomplete or untrustworthy,
and no framework is blamed for it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: Exit statuses of every parity command (documented in the README under "Exit status").
EXIT_EXPECTED = 0  # every verdict is expected (PASS, EXPECTED_DIVERGENCE, UNSUPPORTED)
EXIT_UNEXPECTED = 1  # some verdict is unexpected (MISMATCH, DIVERGENCE_CHANGED, ERROR, CRASH, TIMEOUT)
EXIT_USAGE = 2  # bad option or input: one line naming the problem and the fix
EXIT_INCOMPLETE = 3  # parity could not finish: its own failure (full disk, a bug, a reference that failed)


class ParityError(Exception):
    """Base of every error parity reports to its user as a one-line message."""


class UsageError(ParityError):
    """The user asked for something parity cannot do (bad option, unknown name)."""


class FixtureError(ParityError):
    """A fixture or results file is missing, corrupt or inconsistent."""


class InvalidInput(ParityError, ValueError):
    """Inputs for which RoIAlign is undefined (the reference refuses to invent a result)."""


class Unsupported(ParityError):
    """A framework cannot express a case (a dtype, an argument form): not a failure."""


class FrameworkError(Exception):
    """A framework's native call raised (``__cause__`` is what it raised): the framework's ERROR result.

    Raised only by native(), so an exception from parity's own mapping or
    validation code can never pass for a framework's behaviour.
    """


@contextmanager
def native(framework: str) -> Iterator[None]:
    """Marks a runner's call into its framework: what the framework raises there is its result.

    Only exceptions raised inside this block become the framework's ERROR (FrameworkError);
    Unsupported passes through; anything a runner raises outside it is parity's own failure.
    """
    try:
        yield
    except (FrameworkError, ParityError):
        raise
    except Exception as exc:
        raise FrameworkError(f"{framework} raised") from exc


class ParityFailure(Exception):
    """parity could not finish (exit 3): its own code failed, never a framework's result."""
