"""The network steps' retry policy: a step failing once is run again after the backoff and succeeds."""

import time

import dagster as dg

from media_assets.retries import NETWORK_RETRY_POLICY


def test_policy_backs_off_exponentially_from_30_seconds():
    assert NETWORK_RETRY_POLICY.max_retries == 3
    assert [NETWORK_RETRY_POLICY.calculate_delay(attempt) for attempt in (1, 2, 3)] == [30, 90, 210]


def test_step_failing_once_is_retried_and_succeeds():
    # The project's policy with its delay cut to 0.5 s, so the test does not wait 30 s.
    policy = NETWORK_RETRY_POLICY._replace(delay=0.5)
    attempts: list[tuple[int, float]] = []

    @dg.asset(retry_policy=policy)
    def flaky_download(context: dg.AssetExecutionContext) -> None:
        attempts.append((context.retry_number, time.monotonic()))
        if context.retry_number == 0:
            raise ConnectionError("connection reset by peer")

    with dg.instance_for_test() as instance:
        result = dg.materialize([flaky_download], instance=instance)
        assert result.success
        events = [
            record.event_log_entry.dagster_event_type
            for record in instance.get_records_for_run(result.run_id).records
            if record.event_log_entry.dagster_event_type
            in (dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_SUCCESS)
        ]
    assert events == [dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_SUCCESS]
    assert [number for number, _ in attempts] == [0, 1]
    # The first retry waits one delay (exponential backoff: (2**1 - 1) * delay).
    assert attempts[1][1] - attempts[0][1] >= 0.5
