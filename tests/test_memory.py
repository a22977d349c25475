"""parity.engine.memory turns NumPy's huge-page advice off in parity's processes, unless the user
set NumPy's own switch.  Run in fresh interpreters: the setting is process-wide."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "from numpy._core import multiarray as m\n"
    "from parity.engine.memory import prefer_small_pages\n"
    "changed = prefer_small_pages()\n"
    "print(changed, m._set_madvise_hugepage(True))\n"  # the setter returns the state before the call
)


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env={**clean, **env}, check=True)
    return r.stdout.strip()


def test_huge_page_advice_is_turned_off():
    assert _probe() == "True False"


def test_an_explicit_numpy_switch_is_left_in_charge():
    assert _probe(NUMPY_MADVISE_HUGEPAGE="1") == "False True"
    assert _probe(NUMPY_MADVISE_HUGEPAGE="0") == "False False"
