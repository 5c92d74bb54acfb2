"""The project's settings: the one place that reads the environment.

Read once, at import (the partitions definition is module-level and needs the start date), and checked then: a bad
value stops the definitions from loading with a few lines naming each wrong variable and its valid values
(`SystemExit` with that message, not a loader traceback). Secrets stay `dg.EnvVar`, so the UI never shows them.
"""

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import dagster as dg

SourceKind = Literal["sample", "http", "file"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("sample", "http", "file")
ExecutorKind = Literal["auto", "in_process", "multiprocess"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("auto", "in_process", "multiprocess")

DEFAULT_BASE_URL = "https://datasets.imdbws.com/"
DEFAULT_SAMPLE_SCALE = 0.0005
DEFAULT_RETENTION_KEEP_DAYS = 7
DEFAULT_RETENTION_KEYFRAME_DAYS = 30
IN_PROCESS_MAX_SAMPLE_SCALE = 0.01
"""`auto` runs sample days up to this scale (130k titles, 1M credits, under 1 GB) in one process: their steps take
well under a second each, less than starting a step process costs."""
DEFAULT_START_DATE = dt.date(2026, 1, 1)
DEFAULT_DAILY_RUN_AT = dt.time(9, 0)
"""UTC. IMDb refreshes its files around 07:00-08:00 UTC; an hour later the day's release is complete."""

QUALITY_PREFIX = "QUALITY_"
_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class ImdbSourceSettings:
    """Where IMDb snapshots come from; only the fields of `kind` matter."""

    kind: SourceKind = "sample"
    base_url: str = DEFAULT_BASE_URL
    """For `http`: where the four files are served."""
    folder: str = ""
    """For `file`: the folder holding the four files; `{date}` in it stands for the partition day."""
    sample_scale: float = DEFAULT_SAMPLE_SCALE
    """For `sample`: 1.0 is IMDb's full size."""
    refetch_published: bool = False
    """Replace a published day's archived file when its source changed (`IMDB_REFETCH_PUBLISHED=1`)."""

    def url_of(self, file_name: str) -> str:
        """For `http`: the URL of one of the four files."""
        return self.base_url.rstrip("/") + "/" + file_name

    def folder_of(self, day: dt.date) -> Path:
        """For `file`: the folder holding the files of `day`."""
        return Path(self.folder.replace("{date}", day.isoformat())).expanduser()


@dataclass(frozen=True)
class Settings:
    imdb_source: ImdbSourceSettings = field(default_factory=ImdbSourceSettings)
    data_dir: str = "data"
    start_date: dt.date = DEFAULT_START_DATE
    """The first daily partition."""
    daily_run_at: dt.time = DEFAULT_DAILY_RUN_AT
    """UTC time of the daily schedule."""
    quality_thresholds: Mapping[str, float] = field(default_factory=dict)
    """`QualitySettings` field -> value, e.g. `{"title_completeness_min_pass_rate": 0.95}` from
    `QUALITY_TITLE_COMPLETENESS_MIN_PASS_RATE=0.95`: one entry per such variable set."""
    tmdb_api_key: str = ""
    """`dg.EnvVar("TMDB_API_KEY")` when set (hidden in the UI), else empty: enrichment is off."""
    alert_webhook_url: str = ""
    """`dg.EnvVar("MEDIA_ASSETS_ALERT_WEBHOOK_URL")` when set (a webhook URL is a secret), else empty: no alerts."""
    retention_keep_days: int = DEFAULT_RETENTION_KEEP_DAYS
    """The newest published days retention keeps whole (`MEDIA_ASSETS_RETENTION_KEEP_DAYS`, at least 2)."""
    retention_keyframe_days: int = DEFAULT_RETENTION_KEYFRAME_DAYS
    """One published day kept whole per block of this many days (`MEDIA_ASSETS_RETENTION_KEYFRAME_DAYS`)."""
    executor: ExecutorKind = "auto"
    """`MEDIA_ASSETS_EXECUTOR`: how a run executes its steps; see `runs_in_process`."""

    @property
    def runs_in_process(self) -> bool:
        """Steps run one after another in the run's own process, rather than two at a time in step processes of
        their own. `auto` does so for small sample days only: real IMDb days need both cores and a process per step
        (memory is returned when a step ends, and each step's peak is measured on its own)."""
        if self.executor != "auto":
            return self.executor == "in_process"
        return self.imdb_source.kind == "sample" and self.imdb_source.sample_scale <= IN_PROCESS_MAX_SAMPLE_SCALE


class SettingsError(ValueError):
    """One or more environment variables hold values the project cannot use; the message names each of them."""


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The settings in `environ`, every value checked; raises `SettingsError` listing every wrong one at once."""
    problems: list[str] = []

    def value(name: str) -> str | None:
        text = environ.get(name, "").strip()
        return text or None

    def checked(name: str, parse, default, valid: str):
        text = value(name)
        if text is None:
            return default
        try:
            return parse(text)
        except ValueError:
            problems.append(f"{name}={text!r}: expected {valid}.")
            return default

    kind = checked("IMDB_SOURCE", _one_of(SOURCE_KINDS), "sample", "one of sample (the default), http, file")
    base_url = checked("IMDB_BASE_URL", _http_url, DEFAULT_BASE_URL, "an http:// or https:// URL")
    folder = value("IMDB_FOLDER") or ""
    if kind == "file" and (problem := _file_source_folder_problem(folder)):
        problems.append(problem)
    sample_scale = checked(
        "IMDB_SAMPLE_SCALE", _fraction_above_zero, DEFAULT_SAMPLE_SCALE, "a number above 0 and at most 1, e.g. 0.001"
    )
    start_date = checked(
        "MEDIA_ASSETS_START_DATE",
        _past_date,
        DEFAULT_START_DATE,
        "a date as YYYY-MM-DD, not after today (UTC), e.g. 2026-01-01",
    )
    daily_run_at = checked(
        "MEDIA_ASSETS_DAILY_RUN_AT", _time_of_day, DEFAULT_DAILY_RUN_AT, "a UTC time of day as HH:MM, e.g. 09:00"
    )
    refetch_published = checked("IMDB_REFETCH_PUBLISHED", _flag, False, "1 (replace) or 0 (the default: report)")
    executor = checked(
        "MEDIA_ASSETS_EXECUTOR", _one_of(EXECUTOR_KINDS), "auto", "one of auto (the default), in_process, multiprocess"
    )
    webhook = checked("MEDIA_ASSETS_ALERT_WEBHOOK_URL", _http_url, None, "an http:// or https:// URL")
    keep_days = checked(
        "MEDIA_ASSETS_RETENTION_KEEP_DAYS",
        _whole_number_from(2),
        DEFAULT_RETENTION_KEEP_DAYS,
        f"a whole number of days, at least 2 (default {DEFAULT_RETENTION_KEEP_DAYS})",
    )
    keyframe_days = checked(
        "MEDIA_ASSETS_RETENTION_KEYFRAME_DAYS",
        _whole_number_from(1),
        DEFAULT_RETENTION_KEYFRAME_DAYS,
        f"a whole number of days, at least 1 (default {DEFAULT_RETENTION_KEYFRAME_DAYS})",
    )
    quality = {}
    for name in sorted(environ):
        if name.startswith(QUALITY_PREFIX):
            threshold = checked(name, _pass_rate, None, "a share from 0 to 1, e.g. 0.95")
            if threshold is not None:
                quality[name.removeprefix(QUALITY_PREFIX).lower()] = threshold

    if problems:
        raise SettingsError("\n".join(problems))
    return Settings(
        imdb_source=ImdbSourceSettings(
            kind=kind,
            base_url=base_url,
            folder=folder,
            sample_scale=sample_scale,
            refetch_published=refetch_published,
        ),
        data_dir=value("MEDIA_ASSETS_DATA_DIR") or "data",
        start_date=start_date,
        daily_run_at=daily_run_at,
        quality_thresholds=quality,
        tmdb_api_key=dg.EnvVar("TMDB_API_KEY") if value("TMDB_API_KEY") else "",
        alert_webhook_url=dg.EnvVar("MEDIA_ASSETS_ALERT_WEBHOOK_URL") if webhook else "",
        retention_keep_days=keep_days,
        retention_keyframe_days=keyframe_days,
        executor=executor,
    )


def quality_thresholds(fields: Iterable[str]) -> dict[str, float]:
    """The thresholds set in the environment, after checking that each names one of `fields` (the quality
    settings' `<gate>_min_pass_rate` fields): a typo would otherwise leave a gate at its default without a word."""
    unknown = sorted(set(settings.quality_thresholds) - set(fields))
    if unknown:
        valid = ", ".join(QUALITY_PREFIX + name.upper() for name in fields)
        named = ", ".join(QUALITY_PREFIX + name.upper() for name in unknown)
        _exit(f"{named}: no such quality setting; expected one of {valid}.")
    return dict(settings.quality_thresholds)


def _file_source_folder_problem(folder: str) -> str | None:
    if not folder:
        return (
            "IMDB_SOURCE=file needs IMDB_FOLDER: set it to the folder holding the four .tsv.gz files "
            "(`{date}` in it stands for the partition day, e.g. /mirror/{date})."
        )
    if "{date}" in folder:
        return None  # a folder per day: the days to come do not exist yet
    path = Path(folder).expanduser()
    if not path.is_dir():
        return f"IMDB_FOLDER={folder!r}: no such folder; expected the folder holding the four .tsv.gz files."
    if not any(path.glob("*.tsv.gz")):
        # A folder of one day at a time always holds a release (the files are replaced, not removed first).
        return f"IMDB_FOLDER={folder!r} holds no .tsv.gz file: expected the folder holding IMDb's four files."
    return None


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text

    return parse


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(text)
    return text


def _fraction_above_zero(text: str) -> float:
    number = float(text)
    if not 0 < number <= 1:
        raise ValueError(text)
    return number


def _pass_rate(text: str) -> float:
    number = float(text)
    if math.isnan(number) or not 0 <= number <= 1:
        raise ValueError(text)
    return number


def _past_date(text: str) -> dt.date:
    """A date up to today (UTC): a start date in the future would leave no partition to run."""
    day = dt.date.fromisoformat(text)
    if day > dt.datetime.now(dt.UTC).date():
        raise ValueError(text)
    return day


def _whole_number_from(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        number = int(text)
        if number < minimum:
            raise ValueError(text)
        return number

    return parse


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(text)
    return text == "1"


def _time_of_day(text: str) -> dt.time:
    match = _TIME_OF_DAY.fullmatch(text)
    if not match:
        raise ValueError(text)
    return dt.time(int(match.group(1)), int(match.group(2)))


def _exit(message: str) -> None:
    raise SystemExit(f"media_assets: configuration error (the code location was not loaded):\n{message}")


def _load() -> Settings:
    try:
        return read_settings(os.environ)
    except SettingsError as error:
        _exit(str(error))


settings = _load()
