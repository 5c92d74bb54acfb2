"""Process figures recorded on every materialization, read back into pipeline_metrics.json."""

import resource
import sys
from pathlib import Path

_PROC_STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far.

    With the multiprocess executor every step runs in its own process, so this is the step's peak; in one process
    (small sample days) it is the run's peak so far. On Linux it is
    the kernel's high-water mark `VmHWM`, which starts afresh at exec; `ru_maxrss` would not do: a child inherits
    its parent's value across fork and exec, so every step would report at least the orchestrating process's peak.
    """
    if _PROC_STATUS.exists():
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024
