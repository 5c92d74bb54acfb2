"""Step retry policy of the steps that talk to a server (the IMDb download, TMDb): a neutral module the layers use.

The HTTP clients already retry a request a few times within seconds; this policy reruns the whole step after 30 s,
then 90 s, then 210 s (exponential backoff), so a server that is down for a few minutes does not fail the day. Only
these steps retry: the others fail for reasons a rerun does not fix, and a failed quality gate must stay failed. A
step that knows a retry is pointless (a rejected API key) raises `dg.Failure(..., allow_retries=False)`.
"""

import dagster as dg

NETWORK_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)
