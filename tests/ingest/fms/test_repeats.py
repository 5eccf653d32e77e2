"""A cumulative export is staged from what it adds: the warehouse ends up exactly as if every
row had been parsed again (flows.ingest.fms.repeats)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from flows.form.xlsform import Form
from flows.ingest import landing_zone
from flows.ingest.fms import digest as digest_module
from flows.ingest.fms import repeats
from flows.ingest.fms.digest import FileDigest
from flows.ingest.fms.read import VALIDATED_TABLE, StagedFile
from flows.ingest.fms.repeats import ExportMemory
from flows.ingest.landing_zone import ingest_landing_zone
from flows.warehouse.schema import ensure_schema
from tests.helpers.ingest_state import ingest_decisions
from tests.helpers.kobo_files import submission, write_csv


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows, so that small exports repeat one another block by block."""
    monkeypatch.setattr(digest_module, "BLOCK_BYTES", 1024)


def _rows(first: int, last: int, **answers: str) -> list[dict[str, str]]:
    return [submission(f"u{n:03d}", _id=str(n), **answers) for n in range(first, last + 1)]


def _monday_then_tuesday(
    monday: list[dict[str, str]],
    tuesday: list[dict[str, str]],
    tuesday_name: str = "export-tue.csv",
    **options,
) -> list[list[tuple[str, list[dict[str, str]], dict]]]:
    """Two nights, one export each, in the same layout."""
    return [[("export-mon.csv", monday, options)], [(tuesday_name, tuesday, options)]]


def _arrive(
    landing: Path, name: str, rows: list[dict[str, str]], rank: int, line_feeds: bool = False, **kw
) -> Path:
    path = write_csv(landing / "fms" / name, rows, **kw)
    if line_feeds:  # lines end with "\n" alone, not Python's csv "\r\n"
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    os.utime(path, (1_700_000_000 + rank, 1_700_000_000 + rank))
    return path


class _Staging:
    """Which exports were staged from what they repeat (`repeating`): while they were
    hashed (`while_hashed`, the whole remembered export presumed repeated and borne out by
    the digest) or from their digest; and which were tried and read whole."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.repeating: list[str] = []
        self.while_hashed: list[str] = []
        self.read_whole: list[str] = []
        real_from_digest = landing_zone.stage_repeating_export
        real_while_hashed = landing_zone._hash_while_staging_repeats

        def from_digest(connection, form, path, *args):
            staged = real_from_digest(connection, form, path, *args)
            (self.repeating if staged is not None else self.read_whole).append(path.name)
            return staged

        def while_hashed(connection, form, landing, *args):
            digest, staging = real_while_hashed(connection, form, landing, *args)
            if staging is not None:
                self.repeating.append(landing.path.name)
                self.while_hashed.append(landing.path.name)
            return digest, staging

        monkeypatch.setattr(landing_zone, "stage_repeating_export", from_digest)
        monkeypatch.setattr(landing_zone, "_hash_while_staging_repeats", while_hashed)


def _ingest_nights(
    tmp_path: Path,
    form: Form,
    nights: list[list[tuple[str, list[dict[str, str]], dict]]],
    name: str,
    memory: ExportMemory | None,
) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
    ensure_schema(connection, form)
    landing = tmp_path / f"landing-{name}"
    rank = 0
    for night, files in enumerate(nights):
        for file_name, rows, options in files:
            rank += 1
            _arrive(landing, file_name, rows, rank, **options)
        ingest_landing_zone(connection, form, landing, f"night{night}", memory=memory)
    return connection


def _same_as_parsing_everything(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch, nights
) -> _Staging:
    """Ingest the nights twice, remembering exports and not; the two warehouses must be the
    same. Returns which exports were staged from what they add."""
    parsed = _ingest_nights(tmp_path, form, nights, "every-row", memory=None)
    staging = _Staging(monkeypatch)
    memory = ExportMemory(tmp_path / "fms_exports")
    repeating = _ingest_nights(tmp_path, form, nights, "repeats", memory)
    assert ingest_decisions(repeating) == ingest_decisions(parsed)
    return staging


def test_a_cumulative_export_parses_only_its_new_rows_and_loads_what_parsing_all_would(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    tuesday = monday + _rows(61, 70)
    nights = _monday_then_tuesday(monday, tuesday)

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert staging.repeating == ["export-tue.csv"]
    assert staging.while_hashed == ["export-tue.csv"]


def test_repeated_rows_that_were_quarantined_are_quarantined_again(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    monday[5]["profile/sex"] = "robot"  # not a choice of the form
    monday[20]["_uuid"] = ""  # no submission id
    monday[40] = dict(monday[39], **{"_validation_status": "validation_status_on_hold"})
    tuesday = monday + _rows(61, 70)
    nights = _monday_then_tuesday(monday, tuesday)

    repeating = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights).repeating

    assert repeating == ["export-tue.csv"]


def test_a_new_row_that_conflicts_with_a_repeated_one_quarantines_both(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    changed_copy = dict(monday[10], **{"_validation_status": "validation_status_not_approved"})
    tuesday = [*monday, *_rows(61, 70), changed_copy]
    nights = _monday_then_tuesday(monday, tuesday)

    repeating = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights).repeating

    assert repeating == ["export-tue.csv"]


def test_a_repeated_row_whose_held_version_changed_since_replaces_it_again(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The latest delivered version is held: an export in another layout changed row 10,
    and the cumulative export in the first layout delivers the old version again."""
    monday = _rows(1, 60)
    reviewed = [dict(monday[9], **{"_validation_status": "validation_status_not_approved"})]
    tuesday = monday + _rows(61, 70)
    nights = [
        [("export-mon.csv", monday, {})],
        [("review.csv", reviewed, {"delimiter": ",", "bom": False})],
        [("export-tue.csv", tuesday, {})],
    ]

    repeating = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights).repeating

    assert repeating == ["export-tue.csv"]


def test_a_row_changed_in_the_middle_ends_the_repeat_and_the_rest_is_parsed(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    tuesday = [*monday[:30], dict(monday[30], **{"profile/age": "31"}), *monday[31:]]
    tuesday += _rows(61, 70)
    nights = _monday_then_tuesday(monday, tuesday)

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert staging.repeating == ["export-tue.csv"]
    assert staging.while_hashed == []  # it does not repeat all of monday: staged from its digest


def test_an_export_whose_new_rows_hold_line_breaks_in_cells_is_read_whole(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60, **{"journey/reason_other": ""})
    tuesday = monday + _rows(61, 70, **{"journey/reason_other": "first line\nsecond line"})
    nights = _monday_then_tuesday(monday, tuesday)

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert (staging.repeating, staging.read_whole) == ([], ["export-tue.csv"])


def test_an_export_with_line_breaks_in_cells_is_not_remembered(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60, **{"journey/reason_other": ""})
    monday[3]["journey/reason_other"] = "first line\nsecond line"
    nights = _monday_then_tuesday(monday, monday + _rows(61, 70))

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert (staging.repeating, staging.read_whole) == ([], [])


def test_exports_whose_lines_end_in_line_feeds_alone_are_repeated_too(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    nights = _monday_then_tuesday(monday, monday + _rows(61, 70), line_feeds=True)

    repeating = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights).repeating

    assert repeating == ["export-tue.csv"]


def test_an_export_most_of_whose_repeated_rows_must_be_parsed_again_is_read_whole(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60, **{"profile/sex": "robot"})  # every row quarantined
    nights = _monday_then_tuesday(monday, monday + _rows(61, 70))

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert (staging.repeating, staging.read_whole) == ([], ["export-tue.csv"])


def test_a_name_duckdb_would_take_for_a_pattern_is_read_as_stage_file_reads_it(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = _rows(1, 60)
    nights = _monday_then_tuesday(monday, monday + _rows(61, 70), tuesday_name="export[2].csv")

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert (staging.repeating, staging.read_whole) == ([], ["export[2].csv"])


@pytest.mark.parametrize(
    "damage", ["truncated", "missing", "other rows", "older record", "counts not numbers"]
)
def test_a_damaged_memory_only_means_the_export_is_read_whole(
    warehouse: duckdb.DuckDBPyConnection,
    form: Form,
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
) -> None:
    memory = ExportMemory(tmp_path / "fms_exports")
    _arrive(landing, "export-mon.csv", _rows(1, 60), 1)
    ingest_landing_zone(warehouse, form, landing, "r1", memory=memory)
    [rows_file] = memory.folder.glob("*.parquet")
    if damage == "truncated":
        rows_file.write_bytes(rows_file.read_bytes()[:100])
    elif damage == "missing":
        rows_file.unlink()
    elif damage == "older record":  # written before line breaks were remembered
        [record] = memory.folder.glob("*.json")
        older = json.loads(record.read_text())
        del older["line_breaks_through_block"]
        record.write_text(json.dumps(older))
    elif damage == "counts not numbers":
        [record] = memory.folder.glob("*.json")
        damaged = json.loads(record.read_text())
        damaged["line_breaks_through_block"] = [None] * len(damaged["block_hashes"])
        record.write_text(json.dumps(damaged))
    else:
        warehouse.execute(
            f"COPY (SELECT * FROM read_parquet('{rows_file}') WHERE file_row > 1) "
            f"TO '{rows_file}.x' (FORMAT parquet)"
        )
        Path(f"{rows_file}.x").replace(rows_file)
    staging = _Staging(monkeypatch)
    _arrive(landing, "export-tue.csv", _rows(1, 70), 2)

    [result] = ingest_landing_zone(warehouse, form, landing, "r2", memory=memory).files

    assert (result.status, result.counts.rows_loaded, result.counts.rows_duplicate) == (
        "loaded",
        10,
        60,
    )
    assert staging.repeating == []
    assert len(list(memory.folder.glob("*.json"))) == 1  # tuesday's export, remembered


def test_a_row_staged_by_its_keys_alone_that_the_load_would_validate_fails_the_file(
    warehouse: duckdb.DuckDBPyConnection,
    form: Form,
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Row 10's held version changed since monday, so tuesday's copy of it must be parsed
    again. Were it kept by its keys alone (here: the check of held rows is broken on
    purpose), the load would have no values to validate: the file fails, nothing of it
    is loaded, and nothing is lost. The fault is the memory's, not the file's: the memory
    is forgotten and the next refresh reads the file whole."""
    memory = ExportMemory(tmp_path / "fms_exports")
    monday = _rows(1, 60)
    _arrive(landing, "export-mon.csv", monday, 1)
    ingest_landing_zone(warehouse, form, landing, "r1", memory=memory)
    reviewed = [dict(monday[9], **{"_validation_status": "validation_status_not_approved"})]
    _arrive(landing, "review.csv", reviewed, 2, delimiter=",", bom=False)
    ingest_landing_zone(warehouse, form, landing, "r2", memory=memory)
    held_rows_check = repeats.rows_not_held_as_delivered_sql
    monkeypatch.setattr(
        repeats,
        "rows_not_held_as_delivered_sql",
        lambda form, staged, table: "SELECT 1 AS file_row WHERE false",
    )
    tuesday = _arrive(landing, "export-tue.csv", monday + _rows(61, 70), 3)

    [result] = ingest_landing_zone(warehouse, form, landing, "r3", memory=memory).files

    assert result.status == "failed"
    assert "1 rows staged by their keys alone are not held as delivered" in result.reason
    assert "read again by the next refresh" in result.reason
    assert memory.recall(repeats.header_line_of(tuesday)) is None  # its layout is forgotten
    assert warehouse.execute("SELECT count(*) FROM raw.fms_submissions").fetchone()[0] == 60

    monkeypatch.setattr(repeats, "rows_not_held_as_delivered_sql", held_rows_check)
    [again] = ingest_landing_zone(warehouse, form, landing, "r4", memory=memory).files

    assert (again.status, again.counts.rows_loaded) == ("loaded", 11)  # row 10 and 61-70


def _digest(**changes: object) -> FileDigest:
    """The digest of a file of 1 header and 70 data lines that starts with the 61 lines
    of a remembered export of 900 bytes."""
    digest = FileDigest(
        sha256="ab" * 32,
        size=1_000,
        block_bytes=1024,
        block_hashes=("cd" * 32,),
        header_line=b"start,end\n",
        line_breaks_through_block=(71,),
        lone_carriage_returns=0,
        ends_with_line_break=True,
        bytes_as_known=900,
    )
    return replace(digest, **changes)


@pytest.mark.parametrize(
    "mismatch",
    [
        {"header_line": b"start;end\n"},
        {"lone_carriage_returns": 1},
        {"size": 1_001},
        {"bytes_as_known": 512},  # the file repeats less of the remembered export
        {"line_breaks_through_block": (72,)},  # a cell of the tail holds a line break
    ],
)
def test_rows_staged_while_hashing_are_kept_only_if_the_digest_bears_the_presumption_out(
    mismatch: dict[str, object],
) -> None:
    staged = StagedFile(rows_read=70, plan=None, view=None)  # type: ignore[arg-type]
    presumed = repeats.PresumedRepeat(staged, _digest(sha256=""))

    assert presumed.confirmed_by(_digest()) is staged
    assert presumed.confirmed_by(_digest(**mismatch)) is None


def test_exports_in_two_layouts_are_each_repeated_from_their_own_last_export(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    comma = {"delimiter": ",", "bom": False}
    nights = [
        [("a-mon.csv", _rows(1, 40), {}), ("b-mon.csv", _rows(101, 140), comma)],
        [("a-tue.csv", _rows(1, 45), {}), ("b-tue.csv", _rows(101, 145), comma)],
        [("a-wed.csv", _rows(1, 50), {}), ("b-wed.csv", _rows(101, 150), comma)],
    ]

    repeating = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights).repeating

    assert repeating == ["a-tue.csv", "b-tue.csv", "a-wed.csv", "b-wed.csv"]


def test_a_full_refresh_forgets_the_remembered_exports(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path, tmp_path: Path
) -> None:
    memory = ExportMemory(tmp_path / "fms_exports")
    _arrive(landing, "export-mon.csv", _rows(1, 20), 1)
    ingest_landing_zone(warehouse, form, landing, "r1", memory=memory)
    remembered = sorted(p.name for p in memory.folder.iterdir())
    stale = memory.folder / "f00d.json"
    stale.write_text("{}")

    ingest_landing_zone(warehouse, form, landing, "r2", full_refresh=True, memory=memory)

    assert sorted(p.name for p in memory.folder.iterdir()) == remembered


def test_only_the_latest_layouts_are_remembered(
    warehouse: duckdb.DuckDBPyConnection, form: Form, landing: Path, tmp_path: Path
) -> None:
    memory = ExportMemory(tmp_path / "fms_exports")
    layouts = [{}, {"delimiter": ",", "bom": False}, {"delimiter": ",", "bom": True}]
    for rank, options in enumerate(layouts, start=1):
        _arrive(landing, f"export-{rank}.csv", _rows(rank * 100, rank * 100 + 9), rank, **options)
        ingest_landing_zone(warehouse, form, landing, f"r{rank}", memory=memory)

    records = [json.loads(p.read_text()) for p in memory.folder.glob("*.json")]
    assert sorted(r["file_name"] for r in records) == ["export-2.csv", "export-3.csv"]
    assert sorted(p.name for p in memory.folder.glob("*.parquet")) == sorted(
        r["rows_file"] for r in records
    )


def test_the_lines_copied_for_parsing_stay_in_the_private_folder_only_while_staging(
    warehouse: duckdb.DuckDBPyConnection,
    form: Form,
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """They are the lines as delivered, direct identifiers included."""
    memory = ExportMemory(tmp_path / "fms_exports")
    left_by_a_killed_run = memory.folder / f"{repeats.COPIES_PREFIX}killed"
    left_by_a_killed_run.mkdir(parents=True)
    copies: list[Path] = []
    real_write = repeats._write_lines
    monkeypatch.setattr(
        repeats, "_write_lines", lambda target, *a: copies.append(target) or real_write(target, *a)
    )
    _arrive(landing, "export-mon.csv", _rows(1, 60), 1)
    ingest_landing_zone(warehouse, form, landing, "r1", memory=memory)
    _arrive(landing, "export-tue.csv", _rows(1, 70), 2)

    ingest_landing_zone(warehouse, form, landing, "r2", memory=memory)

    assert copies and all(copy.parent.parent == memory.folder for copy in copies)
    assert not any(copy.exists() for copy in copies)
    assert not left_by_a_killed_run.exists()


def _joins(connection: duckdb.DuckDBPyConnection, query: str) -> int:
    """How many joins DuckDB's physical plan for `query` has."""
    explained = connection.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()
    pending = [
        node for kind, plan in explained if kind == "physical_plan" for node in json.loads(plan)
    ]
    joins = 0
    while pending:
        node = pending.pop()
        joins += "JOIN" in node["name"]
        pending.extend(node.get("children", []))
    return joins


class _ValidationJoins:
    """A connection that notes, each time the load creates its validated table, how many
    joins the validation adds to those that select its rows (`fms_to_validate`)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection
        self.added: list[int] = []

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        create = f"CREATE OR REPLACE TEMP TABLE {VALIDATED_TABLE} AS "
        if sql.lstrip().startswith(create):
            validation = _joins(self._connection, sql.lstrip().removeprefix(create))
            rows = _joins(self._connection, "SELECT * FROM fms_to_validate")
            self.added.append(validation - rows)
        return self._connection.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)


def test_the_new_rows_of_a_cumulative_export_are_checked_against_choice_lists_without_joins(
    tmp_path: Path, form: Form
) -> None:
    # as hash joins (DuckDB's plan for IN lists of constants), the forty-odd choice lists of
    # the validation cost more than checking the few thousand new rows of a nightly export
    landing, memory = tmp_path / "landing", ExportMemory(tmp_path / "fms_exports")
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(connection, form)
    _arrive(landing, "export-mon.csv", _rows(1, 60), rank=1)
    ingest_landing_zone(connection, form, landing, "night0", memory=memory)
    _arrive(landing, "export-tue.csv", _rows(1, 70), rank=2)
    watched = _ValidationJoins(connection)

    ingest_landing_zone(watched, form, landing, "night1", memory=memory)  # type: ignore[arg-type]

    assert watched.added == [0]
    assert connection.execute("SELECT count(*) FROM raw.fms_submissions").fetchone()[0] == 70


def test_a_copy_of_an_export_in_a_remembered_layout_is_hashed_first_and_never_staged(
    tmp_path: Path, form: Form, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file of a recorded size may be one already loaded: its hash tells before any staging
    tuesday = _rows(1, 70)
    nights = [
        [("export-mon.csv", _rows(1, 60), {})],
        [("export-tue.csv", tuesday, {})],
        [("export-tue (1).csv", tuesday, {})],
    ]

    staging = _same_as_parsing_everything(tmp_path, form, monkeypatch, nights)

    assert staging.while_hashed == ["export-tue.csv"]
    assert staging.repeating == ["export-tue.csv"]
