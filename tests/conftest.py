import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def seed_note() -> dict:
    """The migration note's example and the numbers it prints (committed under cases/)."""
    return json.loads((ROOT / "cases" / "seed_note.json").read_text())
