"""The documented PostgreSQL instance (`deploy/postgres/dagster.yaml`) against a real PostgreSQL server.

A throwaway server is started from Debian's binaries (as the `postgres` user when run as root, since PostgreSQL
refuses to run as root), the project's CLI materializes one sample partition through an instance configured by that
file, and the materializations are read back through Dagster and straight from PostgreSQL's tables.
"""

import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from media_assets_tests.conftest import require_installed

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[1]
PARTITION = "2026-02-01"
RAW_ASSETS = ["raw_title_basics", "raw_title_ratings"]


def _postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them out of PATH, per major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str
    database: str

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=self.database)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin_dir()
    require_installed(bin_dir is not None, "PostgreSQL server binaries (initdb, pg_ctl)")
    require_installed(importlib.util.find_spec("dagster_postgres") is not None, "dagster-postgres (pip)")
    as_postgres_user: list[str] = []
    cluster = Path(tempfile.mkdtemp(prefix="media-assets-pg-"))
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: the cluster belongs to Debian's `postgres` user.
        account = pwd.getpwnam("postgres")
        os.chown(cluster, account.pw_uid, account.pw_gid)
        as_postgres_user = ["runuser", "-u", "postgres", "--"]
    data, log = cluster / "data", cluster / "server.log"
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_postgres_user, *command], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {cluster} -c fsync=off -c full_page_writes=off",
        )
        server = PostgresServer(port=port, user="dagster", database="media_assets_dagster")
        admin = PostgresServer(port=port, user="dagster", database="postgres").connect()
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {server.database}")
        admin.close()
        yield server
    except subprocess.CalledProcessError as error:
        server_log = log.read_text() if log.exists() else ""
        pytest.fail(f"PostgreSQL did not start: {error.cmd}\n{error.stderr}\n{server_log}")
    finally:
        if data.exists():
            subprocess.run(
                [*as_postgres_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(cluster, ignore_errors=True)


def test_postgres_instance_stores_a_materialized_sample_partition(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dagster_home, data_dir = tmp_path / "dagster_home", tmp_path / "data"
    dagster_home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", dagster_home / "dagster.yaml")
    connection_env = {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_USER": postgres_server.user,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": postgres_server.database,
    }
    env = {
        # The default source (sample) is the one wanted: a setting from the caller's shell must not change it.
        **{name: value for name, value in os.environ.items() if not name.startswith("IMDB_")},
        **connection_env,
        "DAGSTER_HOME": str(dagster_home),
        "MEDIA_ASSETS_DATA_DIR": str(data_dir),
        "IMDB_SAMPLE_SCALE": "0.00003",
    }
    dagster_cli = Path(sys.executable).with_name("dagster")
    materialize = subprocess.run(
        [
            str(dagster_cli),
            "asset",
            "materialize",
            "-m",
            "media_assets.definitions",
            "--select",
            ",".join(RAW_ASSETS),
            "--partition",
            PARTITION,
        ],
        # dagster.yaml's local paths (.dagster/) are relative to the working directory: keep them in tmp_path.
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert materialize.returncode == 0, materialize.stdout[-3000:] + materialize.stderr[-3000:]

    for name, value in connection_env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == PARTITION
        for asset in RAW_ASSETS:
            [record] = instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
            materialization = record.asset_materialization
            assert materialization.partition == PARTITION
            raw_file = Path(materialization.metadata["path"].value)
            assert raw_file == data_dir / "raw" / PARTITION / raw_file.name
            assert materialization.metadata["bytes"].value == raw_file.stat().st_size > 0
            assert materialization.metadata["sha256"].value == hashlib.sha256(raw_file.read_bytes()).hexdigest()

    # The events are in PostgreSQL's own tables, not in some SQLite file next to the configuration.
    with postgres_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT asset_key, partition, count(*) FROM event_logs "
            "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key, partition ORDER BY asset_key"
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT run_id, status FROM runs")
        runs = cursor.fetchall()
    assert rows == [(dg.AssetKey(asset).to_string(), PARTITION, 1) for asset in sorted(RAW_ASSETS)]
    assert runs == [(run.run_id, "SUCCESS")]
    assert not list(tmp_path.rglob("*.db"))
