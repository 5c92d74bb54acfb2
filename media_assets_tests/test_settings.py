"""The settings module: every value checked, every mistake a short message naming the variable and its valid values,
and the definitions refusing to load with that message (exit status 1, no traceback)."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from media_assets.settings import DEFAULT_BASE_URL, ImdbSourceSettings, SettingsError, read_settings

REPO = Path(__file__).resolve().parents[1]


def test_no_variable_set_gives_the_offline_defaults():
    settings = read_settings({})
    assert settings.imdb_source == ImdbSourceSettings(
        kind="sample", base_url=DEFAULT_BASE_URL, folder="", sample_scale=0.0005
    )
    assert settings.data_dir == "data"
    assert settings.start_date == dt.date(2026, 1, 1)
    assert settings.daily_run_at == dt.time(9, 0)
    assert settings.quality_thresholds == {}
    assert settings.tmdb_api_key == "" and settings.alert_webhook_url == ""
    assert settings.executor == "auto" and settings.runs_in_process


def test_values_are_read_and_typed(tmp_path: Path):
    (tmp_path / "title.basics.tsv.gz").write_bytes(b"")
    settings = read_settings(
        {
            "IMDB_SOURCE": "file",
            "IMDB_FOLDER": str(tmp_path),
            "IMDB_SAMPLE_SCALE": "0.01",
            "MEDIA_ASSETS_DATA_DIR": "/srv/media",
            "MEDIA_ASSETS_START_DATE": "2026-03-01",
            "MEDIA_ASSETS_DAILY_RUN_AT": " 7:05 ",
            "QUALITY_TITLE_COMPLETENESS_MIN_PASS_RATE": "0.95",
            "TMDB_API_KEY": "secret-key",
            "MEDIA_ASSETS_ALERT_WEBHOOK_URL": "https://hooks.example/T000",
            "MEDIA_ASSETS_EXECUTOR": "in_process",
        }
    )
    assert settings.imdb_source.kind == "file" and settings.imdb_source.folder == str(tmp_path)
    assert settings.imdb_source.sample_scale == 0.01
    assert settings.data_dir == "/srv/media"
    assert settings.start_date == dt.date(2026, 3, 1)
    assert settings.daily_run_at == dt.time(7, 5)
    assert settings.quality_thresholds == {"title_completeness_min_pass_rate": 0.95}
    # Secrets stay environment references, so the UI never shows them.
    assert settings.tmdb_api_key == dg.EnvVar("TMDB_API_KEY")
    assert settings.alert_webhook_url == dg.EnvVar("MEDIA_ASSETS_ALERT_WEBHOOK_URL")
    assert settings.executor == "in_process" and settings.runs_in_process


def test_a_dated_folder_is_not_required_to_exist_yet():
    settings = read_settings({"IMDB_SOURCE": "file", "IMDB_FOLDER": "/mirror/{date}"})
    assert settings.imdb_source.folder_of(dt.date(2026, 5, 4)) == Path("/mirror/2026-05-04")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"IMDB_SOURCE": "nonsense"}, "IMDB_SOURCE='nonsense': expected one of sample (the default), http, file."),
        (
            {"IMDB_SOURCE": "file"},
            "IMDB_SOURCE=file needs IMDB_FOLDER: set it to the folder holding the four .tsv.gz files "
            "(`{date}` in it stands for the partition day, e.g. /mirror/{date}).",
        ),
        (
            {"IMDB_SOURCE": "file", "IMDB_FOLDER": "/no/such/folder"},
            "IMDB_FOLDER='/no/such/folder': no such folder; expected the folder holding the four .tsv.gz files.",
        ),
        (
            {"IMDB_SOURCE": "file", "IMDB_FOLDER": "{empty}"},
            "IMDB_FOLDER='{empty}' holds no .tsv.gz file: expected the folder holding IMDb's four files.",
        ),
        ({"IMDB_BASE_URL": "datasets.imdbws.com"}, "IMDB_BASE_URL='datasets.imdbws.com': expected an http:// or"),
        ({"IMDB_SAMPLE_SCALE": "abc"}, "IMDB_SAMPLE_SCALE='abc': expected a number above 0 and at most 1, e.g. 0.001."),
        ({"IMDB_SAMPLE_SCALE": "0"}, "IMDB_SAMPLE_SCALE='0': expected a number above 0 and at most 1"),
        ({"IMDB_SAMPLE_SCALE": "nan"}, "IMDB_SAMPLE_SCALE='nan': expected a number above 0 and at most 1"),
        (
            {"QUALITY_RATING_RANGE_MIN_PASS_RATE": "99"},
            "QUALITY_RATING_RANGE_MIN_PASS_RATE='99': expected a share from 0 to 1, e.g. 0.95.",
        ),
        (
            {"MEDIA_ASSETS_START_DATE": "2026-13-01"},
            "MEDIA_ASSETS_START_DATE='2026-13-01': expected a date as YYYY-MM-DD, not after today (UTC), "
            "e.g. 2026-01-01.",
        ),
        ({"MEDIA_ASSETS_START_DATE": "2999-01-01"}, "MEDIA_ASSETS_START_DATE='2999-01-01': expected a date as"),
        (
            {"MEDIA_ASSETS_DAILY_RUN_AT": "9am"},
            "MEDIA_ASSETS_DAILY_RUN_AT='9am': expected a UTC time of day as HH:MM, e.g. 09:00.",
        ),
        ({"MEDIA_ASSETS_DAILY_RUN_AT": "24:00"}, "MEDIA_ASSETS_DAILY_RUN_AT='24:00': expected a UTC time of day"),
        (
            {"MEDIA_ASSETS_EXECUTOR": "threads"},
            "MEDIA_ASSETS_EXECUTOR='threads': expected one of auto (the default), in_process, multiprocess.",
        ),
        ({"MEDIA_ASSETS_ALERT_WEBHOOK_URL": "hooks"}, "MEDIA_ASSETS_ALERT_WEBHOOK_URL='hooks': expected an http://"),
    ],
)
def test_each_mistake_is_named_with_its_valid_values(environ: dict[str, str], message: str, tmp_path: Path):
    def with_empty_folder(text: str) -> str:
        return text.replace("{empty}", str(tmp_path))

    with pytest.raises(SettingsError) as raised:
        read_settings({name: with_empty_folder(value) for name, value in environ.items()})
    assert str(raised.value).startswith(with_empty_folder(message))


def test_every_mistake_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        read_settings({"IMDB_SOURCE": "ftp", "IMDB_SAMPLE_SCALE": "lots", "MEDIA_ASSETS_DAILY_RUN_AT": "noon"})
    lines = str(raised.value).splitlines()
    assert [line.split("=")[0] for line in lines] == ["IMDB_SOURCE", "IMDB_SAMPLE_SCALE", "MEDIA_ASSETS_DAILY_RUN_AT"]


def _load_definitions(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("IMDB_", "QUALITY_"))}
    return subprocess.run(
        [sys.executable, "-c", "import media_assets.definitions"],
        env={**env, **extra_env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"IMDB_SOURCE": "nonsense"}, "IMDB_SOURCE='nonsense'"),
        ({"IMDB_SOURCE": "file"}, "set it to the folder"),
        ({"IMDB_SAMPLE_SCALE": "-1"}, "IMDB_SAMPLE_SCALE='-1'"),
        # A name no gate has: checked against the quality settings when the definitions load.
        (
            {"QUALITY_TITEL_COMPLETENESS_MIN_PASS_RATE": "0.9"},
            "QUALITY_TITEL_COMPLETENESS_MIN_PASS_RATE: no such quality setting; expected one of "
            "QUALITY_RATING_RANGE_MIN_PASS_RATE, ",
        ),
    ],
)
def test_definitions_stop_with_the_short_message_and_no_traceback(environ: dict[str, str], named: str):
    loaded = _load_definitions(environ)
    assert loaded.returncode == 1
    lines = loaded.stderr.strip().splitlines()
    assert lines[0] == "media_assets: configuration error (the code location was not loaded):"
    assert len(lines) == 2 and named in lines[1], loaded.stderr
    assert "Traceback" not in loaded.stderr


def test_quality_threshold_from_the_environment_reaches_the_gate():
    code = (
        "from media_assets.definitions import defs; "
        "print(defs.resources['quality_settings'].title_completeness_min_pass_rate)"
    )
    env = {**os.environ, "QUALITY_TITLE_COMPLETENESS_MIN_PASS_RATE": "0.5"}
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == "0.5"


def test_schedule_time_and_start_date_come_from_the_environment():
    code = (
        "from media_assets.definitions import defs; "
        "print(defs.resolve_schedule_def('imdb_daily_schedule').cron_schedule); "
        "print(defs.resolve_job_def('imdb_daily').partitions_def.get_first_partition_key())"
    )
    env = {**os.environ, "MEDIA_ASSETS_DAILY_RUN_AT": "06:30", "MEDIA_ASSETS_START_DATE": "2026-02-03"}
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert printed.stdout.splitlines() == ["30 6 * * *", "2026-02-03"]
