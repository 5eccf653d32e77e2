"""`nightly_refresh` over a landing zone holding the whole hostile corpus beside a small
valid export: the refresh completes and publishes, every hostile file has its verdict, and
the next refresh reads none of them again and publishes the same marts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.nightly import nightly_refresh
from tests.helpers.hostile_files import TEST_LIMITS, hostile_cases, write_case
from tests.helpers.kobo_files import submission, write_csv

pytestmark = pytest.mark.slow

MARTS_SQL = "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name"


def _marts(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [name for (name,) in con.execute(MARTS_SQL).fetchall()]
        return {
            name: sorted(con.execute(f'SELECT * FROM marts."{name}"').fetchall(), key=repr)
            for name in tables
        }


def _verdicts(database: Path) -> dict[tuple[str, str], tuple[str, str | None, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "SELECT source, file_name, status, reason, run_id FROM ops.file_loads"
        ).fetchall()
    return {(source, name): (status, reason, run) for source, name, status, reason, run in rows}


def test_a_refresh_over_the_hostile_corpus_publishes_and_the_next_reads_none_again(
    prefect_harness, tmp_path, monkeypatch
):
    monkeypatch.setenv("FMW_MAX_PARSED_FILE_MB", str(TEST_LIMITS.max_parsed_file_bytes >> 20))
    landing, data = tmp_path / "landing", tmp_path / "data"
    interviews = [
        submission(f"valid-{i}", **{"profile/sex": "female" if i % 2 else "male"})
        for i in range(30)
    ]
    write_csv(landing / "fms" / "valid_export.csv", interviews)
    cases = hostile_cases()
    for case in cases:
        write_case(landing, case)

    first = nightly_refresh(landing_dir=str(landing), data_dir=str(data))

    assert first.status == "published"
    internal, published = (
        data / "internal" / "warehouse.duckdb",
        data / "published" / "warehouse.duckdb",
    )
    verdicts = _verdicts(internal)
    for case in cases:
        status, reason, _ = verdicts[(case.source, case.recorded_name)]
        assert status == case.status, (case.id, reason)
        if status == "failed":
            assert case.reason in (reason or ""), case.id
    assert verdicts[("fms", "valid_export.csv")][0] == "loaded"
    with duckdb.connect(str(published), read_only=True) as con:
        failed_published = con.execute(
            "SELECT count(*) FROM ops.file_loads WHERE status = 'failed'"
        ).fetchone()[0]
    assert failed_published == sum(1 for c in cases if c.status == "failed")
    marts_after_first = _marts(published)

    second = nightly_refresh(landing_dir=str(landing), data_dir=str(data))

    assert second.status == "published"
    assert second.files == []  # no hostile file was read, nor failed, again
    assert {run for _, _, run in _verdicts(internal).values()} == {first.run_id}
    assert _marts(published) == marts_after_first
