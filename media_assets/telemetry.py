"""Process figures recorded on every materialization, read back into pipeline_metrics.json."""

import resource
import sys


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far.

    With the multiprocess executor every step runs in its own process, so this is the step's peak.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024
