"""A real PostgreSQL server for the lake tests: Debian's binaries, a throwaway cluster.

`postgres_server()` runs initdb into a temporary folder and starts postgres on 127.0.0.1 on a
free port, trust authentication for local TCP connections only. Postgres refuses to run as
root: when the tests run as root (CI does), the cluster belongs to the `postgres` user and
every server binary runs as that user (`runuser -u postgres --`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "fmw_admin"


class PostgresUnavailable(RuntimeError):
    pass


class PostgresError(RuntimeError):
    pass


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    bin_dir: Path
    superuser: str = SUPERUSER

    def dsn(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq keyword string, as DuckDB's postgres extension takes it."""
        return f"dbname={dbname} host={self.host} port={self.port} user={user or self.superuser}"

    def psql(self, sql: str, dbname: str = "postgres", user: str | None = None) -> str:
        """Run SQL with psql (stopping at the first error); return what it printed."""
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-d", self.dsn(dbname, user), "-c", sql],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise PostgresError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return name


def postgres_bin_dir() -> Path:
    """Debian's newest postgresql binaries (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    if not found:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: "
            "apt-get install postgresql (.ci/run does)"
        )
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs a server binary as a user postgres accepts, and hands
    that user the cluster's folder."""
    if os.getuid() != 0:
        return []
    account = pwd.getpwnam("postgres")
    for path in (folder, *folder.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="fmw-pg-"))
    folder.chmod(0o755)  # runuser's postgres must reach its data folder inside
    data = folder / "cluster"
    data.mkdir(mode=0o700)
    socket_dir = folder / "socket"
    socket_dir.mkdir()
    prefix = _as_server_user(folder)
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    log = folder / "postgres.log"
    log.touch()
    prefix = _as_server_user(folder)
    server = subprocess.Popen(
        [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1",
         "-p", str(port), "-k", str(socket_dir), "-c", "fsync=off",
         "-c", "max_connections=200"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    running = PostgresServer("127.0.0.1", port, bin_dir)
    try:
        _wait_until_ready(running, server, log)
        yield running
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(running: PostgresServer, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PostgresUnavailable(f"postgres exited at start: {log.read_text()[-2000:]}")
        ready = subprocess.run(
            [str(running.bin_dir / "pg_isready"), "-h", running.host, "-p", str(running.port)],
            capture_output=True, check=False,
        )  # fmt: skip
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise PostgresUnavailable(f"postgres did not accept connections: {log.read_text()[-2000:]}")


@dataclass(frozen=True)
class LakeUnderTest:
    """A lake for one test: `fmw ... --lake URL --lake-data DATA`."""

    server: PostgresServer
    database: str
    url: str
    data: Path

    def args(self) -> list[str]:
        return ["--lake", self.url, "--lake-data", str(self.data)]

    def environment(self) -> dict[str, str]:
        return {"FMW_LAKE": self.url, "FMW_LAKE_DATA": str(self.data)}

    def analyst_role(self, prefix: str) -> str:
        """A new login role granted what the README grants analysts: the published catalog's
        schema only. Roles belong to the whole cluster, which a session shares, hence the
        database in the name."""
        analyst = f"{prefix}_{self.database}"
        self.server.psql(
            f"CREATE ROLE {analyst} LOGIN; "
            f"GRANT CONNECT ON DATABASE {self.database} TO {analyst}; "
            f"GRANT USAGE ON SCHEMA fmw_published TO {analyst}; "
            f"GRANT SELECT ON ALL TABLES IN SCHEMA fmw_published TO {analyst}",
            self.database,
        )
        return analyst

    def url_as(self, role: str) -> str:
        """This lake's URL with another role."""
        return f"ducklake:postgres:{self.server.dsn(self.database, user=role)}"


def new_lake(server: PostgresServer, data: Path) -> LakeUnderTest:
    database = server.create_database(f"fmw_{uuid.uuid4().hex[:12]}")
    data.mkdir(parents=True, exist_ok=True)
    return LakeUnderTest(server, database, f"ducklake:postgres:{server.dsn(database)}", data)
