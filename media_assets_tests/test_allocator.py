"""The allocator setting the block readers rely on: freed block buffers are reused, not faulted in again. Each case
runs in a new process, since the setting is the process's."""

import platform
import subprocess
import sys

import pytest

from media_assets.allocator import keep_freed_memory_for_reuse

BLOCKS_ON_TWO_THREADS = """
import resource, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from media_assets.allocator import keep_freed_memory_for_reuse

if sys.argv[1] == "kept":
    assert keep_freed_memory_for_reuse()

def block(_):
    # the sizes of the arrays a 1 MB block of title.principals makes (line ends, spans, columns), each written
    arrays = [np.ones(n, np.uint8) for n in (1 << 20, 4 << 20, 350_000, 2 << 20, 1 << 20, 700_000, 180_000, 180_000)]
    return sum(len(a) for a in arrays)

with ThreadPoolExecutor(2) as pool:
    list(pool.map(block, range(4)))  # the heaps grown once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    list(pool.map(block, range(200)))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="the setting is glibc's"
)


def page_faults_of_200_blocks(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", BLOCKS_ON_TWO_THREADS, mode], capture_output=True, text=True, check=True
    )
    return int(run.stdout)


@glibc_only
def test_freed_block_buffers_are_reused_instead_of_faulted_in_again():
    kept, default = page_faults_of_200_blocks("kept"), page_faults_of_200_blocks("default")
    # 200 blocks touch about 2,300 pages each: by default most are faulted in again (measured 46K-49K faults);
    # kept, only the heaps' growth faults (measured 194).
    assert kept < 2_000
    assert default > 10 * kept


@glibc_only
def test_the_setting_is_accepted_again():
    assert keep_freed_memory_for_reuse()
    assert keep_freed_memory_for_reuse()
