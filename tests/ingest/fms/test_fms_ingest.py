"""FMS exports: every row loaded or quarantined, duplicates and changes recognised,
direct identifiers never stored."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import duckdb
import pytest

from flows.form.xlsform import Form
from flows.ingest import landing_zone as ingest
from flows.ingest.fms import load as fms_load
from flows.ingest.fms import validation as fms_validation
from flows.ingest.fms.read import trimmed_or_null
from flows.ingest.landing_zone import ingest_landing_zone
from flows.warehouse.schema import ensure_schema
from tests.helpers.kobo_files import (
    DIRECT_IDENTIFIERS,
    refusal,
    submission,
    write_csv,
    write_kobo_json,
    write_xlsx,
)


def _ingest(connection: duckdb.DuckDBPyConnection, form: Form, landing: Path, run: str = "r1"):
    return ingest_landing_zone(connection, form, landing, run)


def _arrive_in_order(*paths: Path) -> None:
    for rank, path in enumerate(paths):
        os.utime(path, (1_700_000_000 + rank, 1_700_000_000 + rank))


def _file_load(connection: duckdb.DuckDBPyConnection, name: str) -> dict[str, object]:
    cursor = connection.execute("SELECT * FROM ops.file_loads WHERE file_name = ?", [name])
    columns = [d[0] for d in cursor.description]
    return dict(zip(columns, cursor.fetchone(), strict=True))


def _load_counts(connection: duckdb.DuckDBPyConnection, name: str) -> tuple[object, ...]:
    """rows read, loaded, duplicate, quarantined: the balance of one file's load."""
    load = _file_load(connection, name)
    return tuple(
        load[c] for c in ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined")
    )


def _held_uuids(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute("SELECT _uuid FROM raw.fms_submissions ORDER BY 1").fetchall()
    return [uuid for (uuid,) in rows]


@pytest.mark.parametrize(
    "writer",
    [
        lambda p, rows: write_csv(p.with_suffix(".csv"), rows, delimiter=";", bom=True),
        lambda p, rows: write_csv(p.with_suffix(".csv"), rows, delimiter=",", bom=False),
        lambda p, rows: write_xlsx(p.with_suffix(".xlsx"), rows),
        lambda p, rows: write_kobo_json(p.with_suffix(".json"), rows),
    ],
    ids=["csv-semicolon-bom", "csv-comma", "xlsx", "kobo-json"],
)
def test_every_export_format_loads_the_same_submissions(writer, warehouse, form, landing):
    rows = [submission("u1"), submission("u2", **{"profile/sex": "male"}), refusal("u3")]
    path = writer(landing / "fms" / "export", rows)

    _ingest(warehouse, form, landing)

    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]
    load = _file_load(warehouse, path.name)
    assert (load["status"], load["rows_read"], load["rows_loaded"]) == ("loaded", 3, 3)
    status, transport, sex = warehouse.execute(
        "SELECT _validation_status, transport, sex FROM raw.fms_submissions WHERE _uuid = 'u1'"
    ).fetchone()
    assert (status, transport, sex) == ("validation_status_approved", "bus train", "female")


def test_direct_identifiers_are_never_stored(warehouse, form, landing):
    bad = submission("u9", **{"profile/age": "9"})
    write_csv(landing / "fms" / "a.csv", [submission("u1"), bad])
    write_kobo_json(landing / "fms" / "b.json", [submission("u2")])

    secrets = {value for value in DIRECT_IDENTIFIERS.values() if len(value) >= 7}
    delivered = "".join(p.read_text(encoding="utf-8-sig") for p in (landing / "fms").iterdir())
    assert all(secret in delivered for secret in secrets)  # the files really carry them

    _ingest(warehouse, form, landing)

    for schema, table in warehouse.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()"
    ).fetchall():
        text = warehouse.execute(f'SELECT CAST(t AS VARCHAR) FROM {schema}."{table}" AS t')
        dump = "\n".join(r[0] for r in text.fetchall())
        for secret in secrets:
            assert secret not in dump, f"{secret} found in {schema}.{table}"


def test_cumulative_exports_count_repeated_submissions_as_duplicates(warehouse, form, landing):
    first = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2")])
    second = write_csv(
        landing / "fms" / "feb.csv",
        [submission("u1"), submission("u2"), submission("u3")],
        delimiter=",",
        bom=False,
    )
    _arrive_in_order(first, second)

    _ingest(warehouse, form, landing)

    load = _file_load(warehouse, "feb.csv")
    assert (load["rows_read"], load["rows_loaded"], load["rows_duplicate"]) == (3, 1, 2)
    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]


def _count_rows_set_aside(monkeypatch) -> list[int]:
    """Per FMS file, how many rows were set aside as held exactly as delivered: 0 for a file
    whose first rows were mostly new, validated whole as it was read."""
    counts: list[int] = []
    real_load = ingest.load_staged_fms
    real_set_aside = fms_load._set_aside_rows_held_as_delivered

    def load(connection, form, staged, *args):
        if staged.validated_in_one_pass:
            counts.append(0)
        return real_load(connection, form, staged, *args)

    def set_aside(connection, staged, delivered_hash):
        counts.append(real_set_aside(connection, staged, delivered_hash))
        return counts[-1]

    monkeypatch.setattr(ingest, "load_staged_fms", load)
    monkeypatch.setattr(fms_load, "_set_aside_rows_held_as_delivered", set_aside)
    return counts


def test_rows_delivered_again_unchanged_are_not_validated_again(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    broken = submission("u4", **{"profile/age": "x"})
    first = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2"), broken])
    in_another_column_order = [
        dict(reversed(row.items()))
        for row in (submission("u1"), submission("u2"), submission("u3"), broken)
    ]
    second = write_csv(landing / "fms" / "feb.csv", in_another_column_order, delimiter=",")
    _arrive_in_order(first, second)

    _ingest(warehouse, form, landing)

    assert set_aside == [0, 2]
    assert _load_counts(warehouse, "feb.csv") == (4, 1, 2, 1)
    quarantined = warehouse.execute(
        "SELECT file_name FROM quarantine.rows WHERE row_number = 3 ORDER BY 1"
    ).fetchall()
    assert quarantined == [("jan.csv",)]  # feb's broken row is its 4th
    assert warehouse.execute(
        "SELECT count(*) FROM quarantine.rows WHERE file_name = 'feb.csv' AND row_number = 4"
    ).fetchone() == (1,)
    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]


def test_a_new_rule_applies_to_rows_delivered_again_unchanged(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    write_csv(landing / "fms" / "jan.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")
    monkeypatch.setattr(fms_validation, "EARLIEST_INTERVIEW_DATE", "2100-01-01")
    write_csv(landing / "fms" / "feb.csv", [submission("u1"), submission("u2")])

    _ingest(warehouse, form, landing, "r2")

    assert set_aside == [0, 0]
    reasons = warehouse.execute(
        "SELECT DISTINCT reason FROM quarantine.rows WHERE file_name = 'feb.csv'"
    ).fetchall()
    assert reasons == [("interview date before 2100-01-01",)]


def test_a_changed_submission_replaces_the_held_version(warehouse, form, landing):
    first = write_csv(landing / "fms" / "jan.csv", [submission("u1")])
    rejected = {"_validation_status": "validation_status_not_approved"}
    second = write_csv(landing / "fms" / "feb.csv", [submission("u1", **rejected)])
    _arrive_in_order(first, second)

    _ingest(warehouse, form, landing)

    assert _file_load(warehouse, "feb.csv")["rows_loaded"] == 1
    status = warehouse.execute("SELECT _validation_status FROM raw.fms_submissions").fetchall()
    assert status == [("validation_status_not_approved",)]


def test_an_old_version_delivered_again_after_a_change_replaces_the_held_one_again(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    rejected = {"_validation_status": "validation_status_not_approved"}
    january = write_csv(landing / "fms" / "jan.csv", [submission("u1")])
    february = write_csv(landing / "fms" / "feb.csv", [submission("u1", **rejected)])
    # u1's cells exactly as january delivered them: the latest delivery wins again
    march = write_csv(landing / "fms" / "mar.csv", [submission("u1"), submission("u2")])
    _arrive_in_order(january, february, march)

    _ingest(warehouse, form, landing)

    assert set_aside == [0, 0, 0]
    assert _file_load(warehouse, "mar.csv")["rows_loaded"] == 2
    status = warehouse.execute(
        "SELECT _validation_status FROM raw.fms_submissions WHERE _uuid = 'u1'"
    ).fetchall()
    assert status == [("validation_status_approved",)]


def test_byte_identical_file_is_skipped_by_hash(warehouse, form, landing):
    first = write_csv(landing / "fms" / "export.csv", [submission("u1"), submission("u2")])
    copy = landing / "fms" / "export (1).csv"
    copy.write_bytes(first.read_bytes())
    _arrive_in_order(first, copy)

    _ingest(warehouse, form, landing)

    load = _file_load(warehouse, copy.name)
    assert load["status"] == "skipped_same_bytes"
    assert load["rows_read"] == load["rows_duplicate"] == 2


def test_a_second_run_reads_nothing_again(warehouse, form, landing):
    write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")

    summary = _ingest(warehouse, form, landing, "r2")

    assert summary.files == []
    assert warehouse.execute("SELECT count(*) FROM ops.file_loads").fetchone()[0] == 1


def _count_hashing(monkeypatch) -> list[str]:
    hashed: list[str] = []
    real = ingest.digest_file

    def spy(path: Path, *args):
        hashed.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(ingest, "digest_file", spy)
    return hashed


def test_a_file_seen_before_is_not_hashed_again_while_its_size_and_time_are_unchanged(
    warehouse, form, landing, monkeypatch
):
    write_csv(landing / "fms" / "export.csv", [submission("u1")])
    hashed = _count_hashing(monkeypatch)
    _ingest(warehouse, form, landing, "r1")
    assert hashed == ["export.csv"]

    summary = _ingest(warehouse, form, landing, "r2")

    assert summary.files == []
    assert hashed == ["export.csv"]


def test_a_touched_file_is_hashed_once_more_then_known_by_its_new_time(
    warehouse, form, landing, monkeypatch
):
    export = write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")
    os.utime(export, (1_800_000_000, 1_800_000_000))
    hashed = _count_hashing(monkeypatch)

    assert _ingest(warehouse, form, landing, "r2").files == []
    assert _ingest(warehouse, form, landing, "r3").files == []

    assert hashed == ["export.csv"]
    assert warehouse.execute("SELECT count(*) FROM ops.file_loads").fetchone()[0] == 1


def test_a_file_recorded_before_sizes_were_kept_is_hashed_once_more(
    warehouse, form, landing, monkeypatch
):
    write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _ingest(warehouse, form, landing, "r1")
    warehouse.execute("ALTER TABLE ops.file_loads DROP COLUMN size_bytes")
    warehouse.execute("ALTER TABLE ops.file_loads DROP COLUMN modified_ns")
    ensure_schema(warehouse, form)  # what the next run does first
    hashed = _count_hashing(monkeypatch)

    assert _ingest(warehouse, form, landing, "r2").files == []
    assert _ingest(warehouse, form, landing, "r3").files == []

    assert hashed == ["export.csv"]


def test_a_new_file_under_a_loaded_name_is_read(warehouse, form, landing):
    export = write_csv(landing / "fms" / "export.csv", [submission("u1")])
    _arrive_in_order(export)
    _ingest(warehouse, form, landing, "r1")

    write_csv(export, [submission("u1"), submission("u2")])
    os.utime(export, (1_800_000_000, 1_800_000_000))
    summary = _ingest(warehouse, form, landing, "r2")

    assert [(f.file_name, f.status) for f in summary.files] == [("export.csv", "loaded")]
    assert _held_uuids(warehouse) == ["u1", "u2"]


def test_cells_padded_with_spaces_are_trimmed_and_blank_cells_are_missing(warehouse, form, landing):
    padded = submission(
        "u1",
        **{
            "profile/sex": " female ",
            "profile/age": "\u00a027\u3000",
            "journey/transport": "  train\tbus \n train ",
        },
    )
    blank = submission("u2", **{"profile/sex": "   "})
    write_csv(landing / "fms" / "export.csv", [padded, blank])

    _ingest(warehouse, form, landing)

    stored = warehouse.execute("SELECT _uuid, sex, age, transport FROM raw.fms_submissions")
    assert stored.fetchall() == [("u1", "female", "27", "bus train")]
    quarantined = warehouse.execute("SELECT row_number, column_name, reason FROM quarantine.rows")
    assert quarantined.fetchall() == [(2, "sex", "required answer is missing")]


_SPACE_SEPARATORS = [chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs"]


def test_the_fast_trim_gives_what_duckdbs_trim_gives_for_every_kind_of_space():
    cells = [None, "", "a", "a b", " a", "a ", "   ", "\ta\n", "\u200ba\ufeff", "ລາວ", " ລາວ "]
    cells += [space + "a" + space for space in _SPACE_SEPARATORS] + _SPACE_SEPARATORS
    connection = duckdb.connect()
    connection.execute("CREATE TABLE cells (cell VARCHAR)")
    connection.executemany("INSERT INTO cells VALUES (?)", [[cell] for cell in cells])

    fast, reference = zip(
        *connection.execute(
            f"SELECT {trimmed_or_null('cell')}, nullif(trim(cell), '') FROM cells"
        ).fetchall(),
        strict=True,
    )

    assert len(_SPACE_SEPARATORS) == 17
    assert fast == reference
    assert reference.count("a") == 3 + 17  # "a", " a", "a " and a in every kind of space


@pytest.mark.parametrize(
    ("answers", "column", "reason"),
    [
        ({"_uuid": ""}, "_uuid", "missing _uuid"),
        ({"journey/dest_country": "FRA"}, "dest_country", "not in choice list country"),
        ({"profile/age": "twenty"}, "age", "not an integer"),
        ({"profile/age": "25.5"}, "age", "not an integer"),
        ({"profile/age": "95"}, "age", "violates constraint"),
        ({"profile/sex": ""}, "sex", "required answer is missing"),
        ({"origin/origin_adm2": "LA0201"}, "origin_adm2", "does not belong"),
        ({"journey/transport": "bus rocket"}, "transport", "not in choice list transport"),
        ({"today": "2026-02-30"}, "today", "not a date"),
        ({"today": "2026-04-01"}, "today", "after the submission date"),
        ({"_validation_status": "approved!"}, "_validation_status", "unknown validation status"),
    ],
)
def test_a_row_that_breaks_the_form_is_quarantined_with_its_reason(
    answers, column, reason, warehouse, form, landing
):
    bad = submission("bad", **answers)
    write_csv(landing / "fms" / "export.csv", [submission("good1"), bad, submission("good2")])

    _ingest(warehouse, form, landing)

    load = _file_load(warehouse, "export.csv")
    assert (load["rows_read"], load["rows_loaded"], load["rows_quarantined"]) == (3, 2, 1)
    quarantined = warehouse.execute(
        "SELECT file_name, row_number, column_name, reason FROM quarantine.rows"
    ).fetchall()
    assert [(f, r, c) for f, r, c, _ in quarantined] == [("export.csv", 2, column)]
    assert reason in quarantined[0][3]


def test_a_refusal_keeps_no_answers_even_if_the_export_has_some(warehouse, form, landing):
    write_csv(landing / "fms" / "export.csv", [refusal("u1", **{"profile/age": "33"})])

    _ingest(warehouse, form, landing)

    consent, age = warehouse.execute("SELECT consent, age FROM raw.fms_submissions").fetchone()
    assert (consent, age) == ("no", None)


def test_select_multiple_may_come_as_option_columns_only(warehouse, form, landing):
    row = submission("u1")
    del row["journey/transport"]
    row |= {
        "journey/transport/bus": "1",
        "journey/transport/train": "0",
        "journey/transport/boat": "1",
    }
    write_xlsx(landing / "fms" / "export.xlsx", [row])

    _ingest(warehouse, form, landing)

    assert warehouse.execute("SELECT transport FROM raw.fms_submissions").fetchone() == (
        "boat bus",
    )


def test_select_multiple_encodings_that_disagree_are_quarantined(warehouse, form, landing):
    row = submission("u1", **{"journey/transport/bus": "1", "journey/transport/train": "0"})
    write_csv(landing / "fms" / "export.csv", [row])

    _ingest(warehouse, form, landing)

    assert _file_load(warehouse, "export.csv")["rows_quarantined"] == 1


def test_unknown_extra_columns_are_kept(warehouse, form, landing):
    row = submission("u1", **{"work/remittance_channel": "bank", "__version__": "v2"})
    write_csv(landing / "fms" / "export.csv", [row])

    _ingest(warehouse, form, landing)

    extras = warehouse.execute("SELECT extra_columns FROM raw.fms_submissions").fetchone()[0]
    assert extras == '{"work/remittance_channel":"bank"}'


def test_columns_in_any_order_and_bare_names_are_understood(warehouse, form, landing):
    row = submission("u1")
    reordered = dict(reversed(list(row.items())))
    write_csv(landing / "fms" / "export.csv", [reordered], delimiter=",")

    _ingest(warehouse, form, landing)

    assert _held_uuids(warehouse) == ["u1"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("truncated.xlsx", b"PK\x03\x04 not really a workbook", "cannot read XLSX"),
        ("broken.json", b'{"count": 1, "results": [{"_uuid": ', "invalid JSON"),
        (
            "latin1.csv",
            "_uuid;today;intro/consent;intro/direction;intro/fmp\nu1;2026-03-04;yes;outflow;Sékong\n".encode(
                "latin-1"
            ),
            "not UTF-8",
        ),
        ("other_form.csv", b"household_id,members,water_source\nH1,5,well\n", "missing column"),
    ],
)
def test_an_unreadable_file_fails_alone_and_the_run_goes_on(
    name, content, reason, warehouse, form, landing
):
    (landing / "fms" / name).write_bytes(content)
    write_csv(landing / "fms" / "good.csv", [submission("u1")])

    summary = _ingest(warehouse, form, landing)

    assert [(f.file_name, f.status) for f in summary.failed] == [(name, "failed")]
    assert reason in (summary.failed[0].reason or "")
    assert _held_uuids(warehouse) == ["u1"]


def test_a_ragged_csv_row_is_quarantined_and_the_rest_loads(warehouse, form, landing):
    path = write_csv(landing / "fms" / "export.csv", [submission("u1"), submission("u2")])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines.insert(2, "only;three;fields")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    _ingest(warehouse, form, landing)

    load = _file_load(warehouse, "export.csv")
    assert (load["rows_read"], load["rows_loaded"], load["rows_quarantined"]) == (3, 2, 1)
    assert warehouse.execute("SELECT row_number FROM quarantine.rows").fetchall() == [(2,)]


def test_a_failure_in_the_middle_of_a_file_leaves_the_warehouse_as_it_was(
    warehouse, form, landing, monkeypatch
):
    write_csv(
        landing / "fms" / "export.csv",
        [submission("u1"), submission("bad", **{"profile/age": "9"})],
    )
    real_loader = ingest.load_staged_fms

    def loader_that_dies_after_writing(*args):
        real_loader(*args)
        raise OSError("disk full")

    monkeypatch.setattr(ingest, "load_staged_fms", loader_that_dies_after_writing)

    summary = _ingest(warehouse, form, landing)

    assert summary.failed[0].reason.startswith("export.csv: disk full")
    assert warehouse.execute("SELECT count(*) FROM raw.fms_submissions").fetchone() == (0,)
    assert warehouse.execute("SELECT count(*) FROM quarantine.rows").fetchone() == (0,)
    assert warehouse.execute("SELECT count(*) FROM raw.fms_deliveries").fetchone() == (0,)
    assert _file_load(warehouse, "export.csv")["status"] == "failed"


def _keeps_insertion_order(connection: duckdb.DuckDBPyConnection) -> bool:
    return connection.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]


def test_each_file_is_staged_in_file_order_after_a_load_wrote_rows_unordered(
    warehouse, form, landing, monkeypatch
):
    # Staging numbers rows by the order DuckDB keeps them in; the load that follows it
    # writes without order (faster), so the order must be back on before the next file.
    first = write_csv(landing / "fms" / "a.csv", [submission("u1")])
    second = write_csv(landing / "fms" / "b.csv", [submission("u2")])
    _arrive_in_order(first, second)
    during_loads: list[bool] = []
    real_loader = ingest.load_staged_fms

    def loader_that_dies_on_the_second_file(connection, *args):
        during_loads.append(_keeps_insertion_order(connection))
        counts = real_loader(connection, *args)
        if len(during_loads) == 2:
            raise OSError("disk full")
        return counts

    monkeypatch.setattr(ingest, "load_staged_fms", loader_that_dies_on_the_second_file)
    staged_with_order: list[bool] = []
    real_stage = ingest.stage_export

    def stage(connection, *args):
        staged_with_order.append(_keeps_insertion_order(connection))
        return real_stage(connection, *args)

    monkeypatch.setattr(ingest, "stage_export", stage)

    _ingest(warehouse, form, landing)

    assert during_loads == [False, False]
    assert staged_with_order == [True, True]
    assert _keeps_insertion_order(warehouse)  # also after the failed load


def test_every_file_balances_its_rows(warehouse, form, landing):
    write_csv(landing / "fms" / "a.csv", [submission("u1"), submission(None), refusal("u2")])
    write_kobo_json(
        landing / "fms" / "b.json", [submission("u1"), submission("u3", **{"profile/age": "x"})]
    )

    _ingest(warehouse, form, landing)

    unbalanced = warehouse.execute(
        "SELECT file_name FROM ops.file_loads "
        "WHERE rows_read <> rows_loaded + rows_duplicate + rows_quarantined"
    ).fetchall()
    assert unbalanced == []


def test_the_same_answers_in_another_encoding_are_a_duplicate_not_a_change(
    warehouse, form, landing
):
    first = write_csv(
        landing / "fms" / "a.csv", [submission("u1", **{"journey/transport": "train bus"})]
    )
    row = submission("u1")
    del row["journey/transport"]
    row |= {
        "journey/transport/train": "1",
        "journey/transport/bus": "1",
        "journey/transport/car": "0",
    }
    second = write_xlsx(landing / "fms" / "b.xlsx", [row])
    third = write_kobo_json(
        landing / "fms" / "c.json",
        [
            submission(
                "u1",
                **{
                    "formhub/uuid": "f00",
                    "_xform_id_string": "aBcD",
                    "journey/transport": "bus train",
                },
            )
        ],
    )
    _arrive_in_order(first, second, third)

    _ingest(warehouse, form, landing)

    assert _file_load(warehouse, "b.xlsx")["rows_duplicate"] == 1
    assert _file_load(warehouse, "c.json")["rows_duplicate"] == 1
    assert warehouse.execute("SELECT transport FROM raw.fms_submissions").fetchall() == [
        ("bus train",)
    ]


def _raw_state(connection: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    held = connection.execute(
        "SELECT * EXCLUDE (loaded_run_id, loaded_at) FROM raw.fms_submissions ORDER BY _uuid"
    ).fetchall()
    remembered = connection.execute(
        "SELECT * EXCLUDE (remembered_at) FROM raw.fms_deliveries ORDER BY ALL"
    ).fetchall()
    return held, remembered


def test_incremental_runs_end_where_a_full_rebuild_ends(warehouse, form, landing, tmp_path):
    rejected = {"_validation_status": "validation_status_not_approved"}
    exports = [
        [submission("u1"), submission("u2")],
        [submission("u1", **rejected), submission("u2"), submission("u3")],
        [submission("u1", **rejected), submission("u3"), submission("u4", **{"profile/age": "x"})],
    ]
    for day, rows in enumerate(exports, start=1):
        write_csv(landing / "fms" / f"export_{day}.csv", rows)
        _arrive_in_order(*sorted((landing / "fms").iterdir(), key=lambda p: p.name))
        _ingest(warehouse, form, landing, f"r{day}")

    rebuilt = duckdb.connect(str(tmp_path / "rebuilt.duckdb"))
    ensure_schema(rebuilt, form)
    ingest_landing_zone(rebuilt, form, landing, "full")
    assert _raw_state(warehouse) == _raw_state(rebuilt)

    ingest_landing_zone(warehouse, form, landing, "again", full_refresh=True)
    assert _raw_state(warehouse) == _raw_state(rebuilt)
    rebuilt.close()


def _with_transport_option_columns(row: dict[str, str]) -> dict[str, str]:
    """The same answer in Kobo's other select_multiple layout: also as 0/1 columns."""
    ticked = row["journey/transport"].split()
    options = ("boat", "bus", "car", "minivan", "motorbike", "on_foot", "plane", "train", "truck")
    return row | {f"journey/transport/{o}": "1" if o in ticked else "0" for o in options}


def test_after_a_layout_change_the_next_export_in_that_layout_is_not_validated_again(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    broken = submission("u4", **{"profile/age": "x"})
    january = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2")])
    in_the_new_layout = [
        _with_transport_option_columns(row) for row in (submission("u1"), submission("u2"), broken)
    ]
    february = write_csv(landing / "fms" / "feb.csv", in_the_new_layout)
    march = write_csv(
        landing / "fms" / "mar.csv",
        [*in_the_new_layout, _with_transport_option_columns(submission("u3"))],
    )
    _arrive_in_order(january, february, march)

    _ingest(warehouse, form, landing)

    assert set_aside == [0, 0, 2]  # february validated u1 and u2 again; march did not
    assert _load_counts(warehouse, "feb.csv") == (3, 0, 2, 1)
    assert _load_counts(warehouse, "mar.csv") == (4, 1, 2, 1)
    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]
    lineage = warehouse.execute(
        "SELECT source_file FROM raw.fms_submissions WHERE _uuid IN ('u1', 'u2')"
    ).fetchall()
    assert lineage == [("jan.csv",), ("jan.csv",)]  # held rows keep where they came from


def test_exports_that_alternate_layouts_are_each_recognised(warehouse, form, landing, monkeypatch):
    set_aside = _count_rows_set_aside(monkeypatch)
    submissions = [submission(f"u{n}") for n in range(1, 5)]
    january = write_csv(landing / "fms" / "jan.csv", submissions[:2])
    office = [_with_transport_option_columns(row) for row in submissions[:2]]
    february = write_csv(landing / "fms" / "feb_office.csv", office)
    march = write_csv(landing / "fms" / "mar.csv", submissions[:3])
    april = write_csv(
        landing / "fms" / "apr_office.csv",
        [_with_transport_option_columns(row) for row in submissions],
    )
    _arrive_in_order(january, february, march, april)

    _ingest(warehouse, form, landing)

    # each layout validates a submission once: u1 and u2 in both, u3 in april's layout
    assert set_aside == [0, 0, 2, 2]
    assert _held_uuids(warehouse) == ["u1", "u2", "u3", "u4"]
    remembered = warehouse.execute(
        "SELECT _uuid, count(*) FROM raw.fms_deliveries GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert remembered == [("u1", 2), ("u2", 2), ("u3", 2), ("u4", 1)]


def test_a_warehouse_that_kept_delivered_hashes_in_raw_keeps_recognising_them(
    warehouse, form, landing, monkeypatch
):
    january = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2")])
    _arrive_in_order(january)
    _ingest(warehouse, form, landing, "r1")
    # the layout of warehouses from before raw.fms_deliveries: one hash per held row
    warehouse.execute("ALTER TABLE raw.fms_submissions ADD COLUMN delivered_hash UBIGINT")
    warehouse.execute(
        "UPDATE raw.fms_submissions AS held SET delivered_hash = remembered.delivered_hash "
        "FROM raw.fms_deliveries AS remembered WHERE remembered._uuid = held._uuid"
    )
    column_hashes = warehouse.execute(
        "SELECT _uuid, delivered_hash FROM raw.fms_submissions ORDER BY 1"
    ).fetchall()
    # left by a newer run before an older version ran: the column is the authority
    warehouse.execute("INSERT INTO raw.fms_deliveries VALUES ('u1', 42, now()), ('u9', 7, now())")
    ensure_schema(warehouse, form)  # what the next run does first
    set_aside = _count_rows_set_aside(monkeypatch)
    february = write_csv(
        landing / "fms" / "feb.csv", [submission("u1"), submission("u2"), submission("u3")]
    )
    _arrive_in_order(january, february)
    remembered_after_the_move = warehouse.execute(
        "SELECT _uuid, delivered_hash FROM raw.fms_deliveries ORDER BY 1"
    ).fetchall()

    _ingest(warehouse, form, landing, "r2")

    assert remembered_after_the_move == column_hashes
    assert set_aside == [2]
    columns = [row[0] for row in warehouse.execute("DESCRIBE raw.fms_submissions").fetchall()]
    assert "delivered_hash" not in columns
    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]


def test_each_submission_keeps_its_latest_deliveries_when_layouts_pile_up(
    warehouse, form, landing, monkeypatch
):
    monkeypatch.setattr(fms_load, "KEPT_DELIVERIES", 1)
    set_aside = _count_rows_set_aside(monkeypatch)
    u1, u2, u3 = (submission(f"u{n}") for n in range(1, 4))
    exports = [
        write_csv(landing / "fms" / "jan.csv", [u1, u2]),
        write_csv(landing / "fms" / "feb.csv", [_with_transport_option_columns(u1), u2]),
        write_kobo_json(landing / "fms" / "mar.json", [u1, u2]),  # 3 per submission: 1 kept
        write_kobo_json(landing / "fms" / "apr.json", [u1, u2, u3]),
        write_csv(landing / "fms" / "may.csv", [u1, u2, u3]),
    ]
    _arrive_in_order(*exports)

    _ingest(warehouse, form, landing)

    # april's json is still remembered; may's csv layout was forgotten and is validated
    assert set_aside == [0, 0, 0, 2, 0]
    assert _load_counts(warehouse, "may.csv") == (3, 0, 3, 0)
    remembered = warehouse.execute("SELECT count(*) FROM raw.fms_deliveries").fetchone()[0]
    assert remembered <= 2 * len(_held_uuids(warehouse))


def _kobo_json_with_a_malformed_first_result(path: Path, rows: list[dict[str, str]]) -> Path:
    write_kobo_json(path, rows)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["results"].insert(0, "not a record")
    document["count"] = len(document["results"])
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_layout_change_to_kobo_api_json_is_remembered_with_its_row_numbers(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    broken = submission("u4", **{"profile/age": "x"})
    january = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2")])
    api = [submission("u1"), submission("u2"), broken]
    february = _kobo_json_with_a_malformed_first_result(landing / "fms" / "feb.json", api)
    march = _kobo_json_with_a_malformed_first_result(
        landing / "fms" / "mar.json", [*api, submission("u3")]
    )
    _arrive_in_order(january, february, march)

    _ingest(warehouse, form, landing)

    assert set_aside == [0, 0, 2]
    assert _load_counts(warehouse, "feb.json") == (4, 0, 2, 2)
    assert _load_counts(warehouse, "mar.json") == (5, 1, 2, 2)
    quarantined = warehouse.execute(
        "SELECT row_number, reason FROM quarantine.rows WHERE file_name = 'mar.json' ORDER BY 1"
    ).fetchall()
    assert [number for number, _ in quarantined] == [1, 4]  # results[0] and results[3]
    assert quarantined[0][1] == "result is not a JSON object"
    assert _held_uuids(warehouse) == ["u1", "u2", "u3"]


def test_two_versions_of_one_uuid_in_one_file_are_quarantined_even_if_one_is_held(
    warehouse, form, landing
):
    january = write_csv(landing / "fms" / "jan.csv", [submission("u1"), submission("u2")])
    february = write_csv(
        landing / "fms" / "feb.csv",
        [
            submission("u1"),  # exactly as held: alone, it would be a duplicate
            submission("u1", **{"profile/age": "31"}),
            submission("u2", _tags="checked"),  # a label is not content: a repeat
            submission("u2"),
        ],
    )
    _arrive_in_order(january, february)

    _ingest(warehouse, form, landing)

    assert _load_counts(warehouse, "feb.csv") == (4, 0, 2, 2)
    quarantined = warehouse.execute(
        "SELECT row_number, column_name, reason, value FROM quarantine.rows ORDER BY 1"
    ).fetchall()
    reason = "conflicting versions of one submission in one file"
    assert quarantined == [(1, "_uuid", reason, "u1"), (2, "_uuid", reason, "u1")]
    age = warehouse.execute("SELECT age FROM raw.fms_submissions WHERE _uuid = 'u1'").fetchone()
    assert age == ("27",)  # the held version stays: the file cannot say which is right


def test_among_rows_held_as_delivered_a_changed_row_is_still_an_edit_and_keeps_its_row(
    warehouse, form, landing, monkeypatch
):
    set_aside = _count_rows_set_aside(monkeypatch)
    held = [submission(f"u{n}") for n in range(1, 6)]
    january = write_csv(landing / "fms" / "jan.csv", held)
    rejected = submission("u3", _validation_status="validation_status_not_approved")
    broken = submission("u7", **{"profile/age": "x"})
    february = write_csv(
        landing / "fms" / "feb.csv",
        [held[0], held[1], rejected, held[3], broken, held[4], submission("u6"), held[0]],
    )
    _arrive_in_order(january, february)

    _ingest(warehouse, form, landing)

    assert set_aside == [0, 5]
    assert _load_counts(warehouse, "feb.csv") == (8, 2, 5, 1)
    loaded = warehouse.execute(
        "SELECT _uuid, source_row, _validation_status FROM raw.fms_submissions "
        "WHERE source_file = 'feb.csv' ORDER BY 1"
    ).fetchall()
    assert loaded == [
        ("u3", 3, "validation_status_not_approved"),
        ("u6", 7, "validation_status_approved"),
    ]
    quarantined = warehouse.execute(
        "SELECT row_number FROM quarantine.rows WHERE file_name = 'feb.csv'"
    ).fetchall()
    assert quarantined == [(5,)]
