"""Peak memory per step: a child process reports its own peak, not the peak of the process that started it."""

import subprocess
import sys

from media_assets.telemetry import peak_rss_bytes

MB = 1 << 20


def test_peak_grows_with_what_the_process_holds():
    # A fresh interpreter, so that its peak so far is far below what it then holds. bytearray() writes zeros: the
    # pages are really resident.
    code = (
        "from media_assets.telemetry import peak_rss_bytes\n"
        "before = peak_rss_bytes()\n"
        f"held = bytearray({300 * MB})\n"
        "print(before, peak_rss_bytes())"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = map(int, child.stdout.split())
    assert after >= before + 290 * MB  # a little of what was counted before may have been given back


def test_a_child_does_not_inherit_the_parents_peak():
    held = bytearray(400 * MB)
    parent_peak = peak_rss_bytes()
    child = subprocess.run(
        [sys.executable, "-c", "from media_assets.telemetry import peak_rss_bytes; print(peak_rss_bytes())"],
        capture_output=True,
        text=True,
        check=True,
    )
    del held
    assert int(child.stdout) < parent_peak - 300 * MB
