"""The full-scale benchmark's summary of several runs: medians, the worst peak and the target verdicts; the page
cache each build starts from."""

import ctypes
import json
import mmap
import os
import subprocess
import sys

from benchmarks.clean_phases import PASSES, phase_rows
from benchmarks.full_scale import (
    STEP_PEAK_TARGET_BYTES,
    drop_from_page_cache,
    free_memory_bytes,
    median_day,
    start_cached,
    target_verdicts,
)


def _day(wall: float, cpu: float, peak: int, principals_seconds: float, principals_cpu: float) -> dict:
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "orchestration_cpu_seconds": 5.0,
        "free_memory_bytes_at_start": None,
        "bytes_added": 100,
        "largest_step_peak_rss_bytes": peak,
        "steps": [
            {
                "step": "clean_title_principals",
                "seconds": principals_seconds,
                "cpu_seconds": principals_cpu,
                "rows_out": 1000,
                "rows_per_s": None,
                "peak_rss_mb": peak // 1_000_000,
            },
            {
                "step": "raw_title_principals",
                "seconds": 1.0,
                "cpu_seconds": None,
                "rows_out": None,
                "peak_rss_mb": None,
            },
        ],
    }


def test_median_day_takes_each_figures_median_and_the_worst_peak():
    days = [
        _day(100, 200, 1_000_000_000, 50, 80),
        _day(90, 210, 2_000_000_000, 40, 70),
        _day(120, 190, 1_500_000_000, 45, 90),
    ]
    summary = median_day(days)
    assert (summary["wall_seconds"], summary["cpu_seconds"]) == (100, 200)
    assert summary["largest_step_peak_rss_bytes"] == 2_000_000_000
    principals, raw = summary["steps"]  # slowest first
    assert (principals["step"], principals["seconds"], principals["cpu_seconds"]) == ("clean_title_principals", 45, 80)
    assert principals["rows_per_s"] == round(1000 / 45)
    assert principals["peak_rss_mb"] == 2000
    assert (raw["step"], raw["cpu_seconds"], raw["peak_rss_mb"]) == ("raw_title_principals", None, None)


def test_median_day_takes_the_median_free_memory_of_the_runs_that_know_it():
    days = [_day(100, 200, 1, 50, 80), _day(90, 210, 1, 40, 70), _day(120, 190, 1, 45, 90)]
    for day, free in zip(days, (6_000_000_000, None, 20_000_000_000), strict=True):
        day["free_memory_bytes_at_start"] = free
    assert median_day(days)["free_memory_bytes_at_start"] == 13_000_000_000
    assert median_day(days[1:2])["free_memory_bytes_at_start"] is None


def test_free_memory_is_what_proc_meminfo_says():
    with open("/proc/meminfo") as meminfo:
        [free_kib] = [int(line.split()[1]) for line in meminfo if line.startswith("MemFree:")]
    # Free memory moves between the two reads: they agree within 64 MiB.
    assert abs(free_memory_bytes() - free_kib * 1024) < 64 << 20


def test_target_verdicts_compare_the_medians_with_the_limits():
    first, next_day = (
        median_day([_day(60, 100, 1_000_000_000, 30, 40)]),
        median_day([_day(61, 100, 2_600_000_000, 30, 40)]),
    )
    targets = target_verdicts(first, next_day, duckdb_wall=100)
    assert targets["first_day_vs_duckdb_wall"] == {"value": 0.6, "limit": 0.6, "met": True}
    assert targets["next_day_vs_first_day_wall"]["met"] is False
    assert targets["largest_step_peak_rss_bytes"] == {
        "value": 2_600_000_000,
        "limit": STEP_PEAK_TARGET_BYTES,
        "met": False,
    }
    assert "next_day_vs_first_day_wall" not in target_verdicts(first, None, duckdb_wall=50)
    assert target_verdicts(first, None, duckdb_wall=50)["first_day_vs_duckdb_wall"]["met"] is False


def test_phase_rows_are_the_differences_between_consecutive_passes():
    passes = {
        name: {"wall_seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": 300}
        for name, wall, cpu in zip(PASSES, (1.0, 2.0, 4.0, 6.0), (1.0, 2.5, 6.0, 10.0), strict=True)
    }
    rows = phase_rows(passes)
    assert [(row["phase"], row["cpu_seconds"], row["share"]) for row in rows] == [
        ("inflate", 1.0, "10%"),
        ("split", 1.5, "15%"),
        ("parse", 3.5, "35%"),
        ("write", 4.0, "40%"),
    ]
    assert [row["pass_cpu_seconds"] for row in rows] == [1.0, 2.5, 6.0, 10.0]


def test_clean_phases_runs_every_pass_on_a_generated_file(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks.clean_phases", "--scale", "0.001", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads((tmp_path / "clean_phases-0.001-title.principals.json").read_text())
    assert [row["phase"] for row in report["phases"]] == list(PASSES)
    # The phases add up to the last pass, which cleaned the file as the clean step does.
    total = sum(row["cpu_seconds"] for row in report["phases"])
    assert abs(total - report["phases"][-1]["pass_cpu_seconds"]) < 0.05
    assert "title.principals.tsv.gz at scale 0.001" in finished.stdout


def _cached_pages(path) -> int:
    """Pages of `path` in the page cache, from mincore(2) over a read-only mapping of it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    descriptor = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, descriptor, 0)
        assert address not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            residency = ctypes.create_string_buffer(pages)
            assert libc.mincore(address, size, residency) == 0, os.strerror(ctypes.get_errno())
            return sum(byte & 1 for byte in residency.raw)
        finally:
            libc.munmap(address, size)
    finally:
        os.close(descriptor)


def test_start_cached_drops_the_evicted_files_then_reads_the_inputs_into_the_page_cache(tmp_path):
    day, data, elsewhere = tmp_path / "samples" / "2026-11-25", tmp_path / "data", tmp_path / "elsewhere"
    other_day = tmp_path / "samples" / "2026-11-24" / "title.principals.tsv.gz"
    source = day / "title.principals.tsv.gz"
    staged, published = data / "tables" / "clean.parquet", data / "published" / "dim_title.parquet"
    files = [source, other_day, staged, published, elsewhere / "left.bin"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(4 << 20))
    os.sync()
    drop_from_page_cache(source)  # the day's file: out of the cache, as after a day of other work
    for path in files[1:]:  # every other file: cached, as after the build before
        path.read_bytes()
    whole = (4 << 20) // mmap.PAGESIZE
    assert [_cached_pages(path) for path in files] == [0] + [whole] * 4

    start_cached(inputs=(day, data / "published", data / "not-made-yet"), evicted=(day.parent, data))

    # The inputs are cached (the published file was dropped with the data, then read), the other sample day and the
    # staged table are not, and a file outside both is left as it was.
    assert [_cached_pages(path) for path in files] == [whole, 0, 0, whole, whole]
