"""Which lake a `--lake` URL and `--lake-data` path name, without the URL's credentials.

Two refreshes work on the same lake when their catalogs are the same Postgres database and
their data path is the same, whatever role, password or connection options each connects
with (an engineer's laptop and a worker may use different roles; a password may come from
the URL, PGPASSWORD or ~/.pgpass). The identity keeps only what names the database and the
data path, so it can name a Prefect work queue and appear in messages and logs.
"""

from __future__ import annotations

import hashlib
import re

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

POSTGRES_PREFIX = "ducklake:postgres:"
# The libpq keywords that say which database a connection reaches; every other keyword says
# who connects and how (user, password, sslmode, options, application_name, ...).
DATABASE_KEYWORDS = ("service", "host", "hostaddr", "port", "dbname")
DEFAULT_PORT = "5432"
_PASSWORD = re.compile(r"password\s*=|://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)


class LakeUrlError(ValueError):
    pass


def _postgres_keywords(url: str) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(url[len(POSTGRES_PREFIX) :]).items()}
    except ProgrammingError as error:
        raise LakeUrlError(f"--lake (FMW_LAKE) is not a valid libpq connection: {error}") from None


def catalog_identity(url: str) -> str:
    """The catalog's database, credential-free: `postgres:dbname=fmw host=db port=5432`.

    Any other DuckLake catalog (SQLite, MySQL, a DuckDB file) is named by a hash of its URL:
    a MySQL URL holds its password, and a hash shows nothing of it."""
    if not url.startswith(POSTGRES_PREFIX):
        return f"catalog-{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    keywords = _postgres_keywords(url)
    kept = {k: keywords[k] for k in DATABASE_KEYWORDS if keywords.get(k)}
    if "port" not in kept and ("host" in kept or "hostaddr" in kept):
        kept["port"] = DEFAULT_PORT  # `port=5432` and no port at all are one database
    return "postgres:" + " ".join(f"{k}={kept[k]}" for k in DATABASE_KEYWORDS if k in kept)


def lake_identity(url: str, data_root: str) -> str:
    """The lake: its catalog's database and its data path."""
    return f"{catalog_identity(url)} data={data_root.rstrip('/')}"


def database_name(url: str) -> str:
    """The catalog's Postgres database name, for readable names; '' when there is none."""
    if not url.startswith(POSTGRES_PREFIX):
        return ""
    return _postgres_keywords(url).get("dbname", "")


def holds_password(url: str) -> bool:
    """Whether the URL itself carries a password (keyword or URI form)."""
    if url.startswith(POSTGRES_PREFIX):
        return "password" in _postgres_keywords(url)
    return bool(_PASSWORD.search(url))
