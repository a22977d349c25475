"""Seeds derived from case ids: a case regenerates bit for bit on its own, whatever suite holds it."""
from __future__ import annotations

import hashlib


def seed_of(case_id: str) -> int:
    """A case's RNG seed, derived from its id."""
    return int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:8], "little")
