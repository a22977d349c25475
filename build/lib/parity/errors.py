"""Error types: anything that is not a ParityError is a bug in parity itself."""
from __future__ import annotations


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
