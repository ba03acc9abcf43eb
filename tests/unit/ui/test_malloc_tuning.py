"""The UI fixes glibc's mmap threshold so big freed blocks do not fragment the heap."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import ctypes, sys
from kiosk.ui.hardening import tune_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    assert tune_malloc()
big = bytearray(4 << 20)  # like a 1080p text surface: mmapped, then freed
del big
before = libc.mallinfo2().hblks
keep = [bytearray(512 << 10) for _ in range(4)]
print(libc.mallinfo2().hblks - before)
"""


def mmapped_after_a_big_free(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip())


def test_big_blocks_stay_in_mmap_after_a_bigger_one_is_freed() -> None:
    # glibc alone raised its threshold to 4 MiB: the 512 KiB blocks came from the heap.
    assert mmapped_after_a_big_free("default") == 0
    assert mmapped_after_a_big_free("tuned") == 4
