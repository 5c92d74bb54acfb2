"""The release sensor: runs `imdb_daily` for today's partition once IMDb has published a complete new snapshot.

IMDb refreshes its four files once a day, one after the other. The sensor reads each file's validators (HEAD only,
never a download: a tick must finish within 60 s), keeps those of the release it last ran in its cursor, and asks
for a run only when all four differ from them. The run key is derived from the validators, so one release is run
once, whatever the number of ticks that see it.

Per source kind:
- `http`: ETag and Last-Modified of `<base_url>/<file>` (HEAD through httpx, 10 s timeout per request).
- `file`: size and modification time of the four files in the folder of today (`{date}` in the folder is replaced
  by today's UTC date); a missing file means the release is not complete yet.
- `sample`: the generator makes a snapshot on demand and has no releases, so every tick skips and says so; the
  daily schedule materializes each day.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping

import dagster as dg
import httpx

from media_assets.jobs import imdb_daily
from media_assets.partitions import partition_date
from media_assets.schedules import RELEASE_SENSOR_NAME, snapshot_partition_key
from media_assets.sources.http_download import head_validators
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets.sources.imdb_source import ImdbSource

HEAD_TIMEOUT_SECONDS = 10.0
"""Per HEAD request; four of them stay well within the 60 s a sensor tick may take."""

RELEASE_TAG_KEY = "media_assets/release"


class _ReleaseIncomplete(Exception):
    """The files of the current release cannot all be seen yet; the message becomes the tick's skip reason."""


def http_validators(imdb_source: ImdbSource) -> dict[str, str]:
    """`{file name: "etag=...; last-modified=..."}` of the four files, from one HEAD request each."""
    validators = {}
    with httpx.Client(timeout=HEAD_TIMEOUT_SECONDS, follow_redirects=True) as client:
        for imdb_file in IMDB_FILES:
            url = imdb_source.url_of(imdb_file)
            etag, last_modified = head_validators(client, url)
            if etag is None and last_modified is None:
                raise ValueError(
                    f"HEAD {url}: the server sends neither ETag nor Last-Modified, so a new release cannot be told "
                    "from the current one; use the daily schedule instead of the release sensor."
                )
            validators[imdb_file.file_name] = f"etag={etag}; last-modified={last_modified}"
    return validators


def file_validators(imdb_source: ImdbSource, partition_key: str) -> dict[str, str]:
    """`{file name: "size=...; mtime_ns=..."}` of the four files in the source folder of `partition_key`'s day."""
    validators = {}
    missing = []
    for imdb_file in IMDB_FILES:
        path = imdb_source.source_path(imdb_file, partition_date(partition_key))
        try:
            stat = path.stat()
        except FileNotFoundError:
            missing.append(str(path))
            continue
        validators[imdb_file.file_name] = f"size={stat.st_size}; mtime_ns={stat.st_mtime_ns}"
    if missing:
        raise _ReleaseIncomplete(
            f"Waiting for the release of {partition_key}: {len(missing)} of {len(IMDB_FILES)} files not there yet "
            f"({', '.join(missing)})."
        )
    return validators


def release_id(validators: Mapping[str, str]) -> str:
    """A short, stable fingerprint of a release: the same four validators always give the same id."""
    canonical = json.dumps(dict(sorted(validators.items())), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dg.sensor(
    name=RELEASE_SENSOR_NAME,
    job=imdb_daily,
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Runs imdb_daily for today's partition as soon as all four IMDb files have changed since the release it "
        "last ran (http: ETag/Last-Modified via HEAD; file: size and mtime; sample: nothing to watch, skips)."
    ),
)
def imdb_release_sensor(
    context: dg.SensorEvaluationContext, imdb_source: ImdbSource
) -> dg.SensorResult | dg.SkipReason:
    if imdb_source.kind == "sample":
        return dg.SkipReason(
            "The sample source generates snapshots on demand and has no releases to watch; imdb_daily_schedule "
            "materializes each day. Set IMDB_SOURCE=http or file to watch a real source."
        )
    partition_key = snapshot_partition_key(dt.datetime.now(dt.UTC))
    if partition_key is None:
        return dg.SkipReason("Today is before the first partition: nothing to run yet.")
    try:
        if imdb_source.kind == "http":
            current = http_validators(imdb_source)
        else:
            current = file_validators(imdb_source, partition_key)
    except _ReleaseIncomplete as incomplete:
        return dg.SkipReason(str(incomplete))

    previous = json.loads(context.cursor) if context.cursor else None
    if previous is not None:
        last_run = previous["validators"]
        unchanged = [name for name, value in current.items() if last_run.get(name) == value]
        if len(unchanged) == len(current):
            return dg.SkipReason(
                f"No new IMDb release: none of the {len(current)} files changed since release {previous['release']} "
                "was run."
            )
        if unchanged:
            changed = [name for name in current if name not in unchanged]
            return dg.SkipReason(
                f"Release in progress: {', '.join(changed)} changed since release {previous['release']}, still "
                f"waiting for {', '.join(unchanged)}."
            )

    release = release_id(current)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"imdb-release-{release}", partition_key=partition_key, tags={RELEASE_TAG_KEY: release}
            )
        ],
        cursor=json.dumps({"release": release, "validators": current}),
    )
