"""parity.engine.memory turns NumPy's huge-page advice off in parity's processes where free memory
is fragmented, keeps it where the kernel has huge pages free, and leaves NumPy's own switch in
charge.  Run in fresh interpreters: the setting is process-wide."""
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np

from parity.engine import memory

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import sys\n"
    "from numpy._core import multiarray as m\n"
    "from parity.engine.memory import prefer_small_pages\n"
    "changed = prefer_small_pages(sys.argv[1])\n"
    "print(changed, m._set_madvise_hugepage(True))\n"  # the setter returns the state before the call
)
#: /proc/buddyinfo of the project's VM freshly booted (4 KiB pages): 9.6 GiB free in blocks of 2 MiB or more.
FRESH = """Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32      2      2      3      1      2      2      1      4      4      2    752
Node 0, zone   Normal  10990   9877   6079   4828   3522   1949   1387    665    333    149   1636
"""
#: Fragmented: plenty free, but almost none of it in blocks of 2 MiB (orders 9 and 10).
FRAGMENTED = """Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3
Node 0, zone   Normal 900000 400000 200000  90000  30000   8000   2000    300     40      3      1
"""


def _probe(tmp_path: Path, buddyinfo: str, **env: str) -> str:
    path = tmp_path / "buddyinfo"
    path.write_text(buddyinfo)
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    r = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, cwd=ROOT,
                       env={**clean, **env}, check=True)
    return r.stdout.strip()


def test_free_huge_blocks_are_summed_from_buddyinfo(tmp_path):
    path = tmp_path / "buddyinfo"
    path.write_text(FRESH)
    page = 4096
    # orders 9 and 10 (2 MiB and 4 MiB blocks) of the three zones, counted by hand
    expected = (1 + 2 + 149) * (page << 9) + (3 + 752 + 1636) * (page << 10)
    assert memory.free_in_huge_blocks(str(path), page=page) == expected
    assert memory.free_in_huge_blocks(str(tmp_path / "missing")) is None
    path.write_text("not buddyinfo\n")
    assert memory.free_in_huge_blocks(str(path)) is None


def test_huge_page_advice_is_turned_off_where_memory_is_fragmented(tmp_path):
    assert _probe(tmp_path, FRAGMENTED) == "True False"


def test_huge_page_advice_is_kept_where_huge_pages_are_free(tmp_path):
    assert _probe(tmp_path, FRESH) == "False True"


def test_unreadable_buddyinfo_means_small_pages(tmp_path):
    assert _probe(tmp_path, "garbage") == "True False"


def test_an_explicit_numpy_switch_is_left_in_charge(tmp_path):
    assert _probe(tmp_path, FRAGMENTED, NUMPY_MADVISE_HUGEPAGE="1") == "False True"
    assert _probe(tmp_path, FRESH, NUMPY_MADVISE_HUGEPAGE="0") == "False False"


def test_a_result_buffer_is_handed_out_again_only_once_nothing_holds_it():
    """parity.engine.memory.Results: while a result, or any view of it, lives, its memory is never
    another result's; once all are gone it is; at most ``keep`` buffers stay; small results are
    ordinary arrays."""
    results = memory.Results(keep=2, min_bytes=1 << 16)
    first = results((100, 200))
    first[...] = 1.0
    view = first[3:9, ::2].T  # a view of a view: NumPy chains it past ``first``
    address = first.ctypes.data
    del first
    second = results((100, 200))
    assert not np.shares_memory(second, view)
    second[...] = 2.0
    assert (view == 1.0).all()
    del view
    third = results((50, 200))  # smaller: the first buffer fits it
    assert third.ctypes.data == address and not np.shares_memory(third, second)
    del second, third
    live = [results((100, 200)) for _ in range(3)]  # three at once: only two buffers are kept after
    buffers = [weakref.ref(a.base.base.obj) for a in live]  # result -> its anchor -> memoryview -> buffer
    del live
    assert sum(b() is not None for b in buffers) == 2
    small = results((10, 10))
    assert small.base is None and small.shape == (10, 10)
