"""Loading migrant story files (Markdown with YAML front matter) into raw.stories."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows.form.xlsform import Form
from flows.ingest.exceptions import UnreadableFile
from flows.ingest.landing import LandingFile, LoadCounts
from flows.ingest.stories.load import load_story_file

# The landing-zone contract's example record, examples/stories/lao-2024-buakham.md, verbatim.
CONTRACT_EXAMPLE = """\
---
id: lao-2024-buakham
title: "Buakham's boundless courage: a tale of labour migration and hope"
published: 2024-06-20
language: en
url: https://laopdr.iom.int/stories/buakhams-boundless-courage-tale-labor-migration-and-hope
consent: public
person:
  pseudonym: Buakham
  age: 48
  sex: female
  ethnicity: phunoi
  children: 4
residence:
  place: "Nateuy District, Luang Namtha Province"
origin:
  place: "Samphanxay District, Phongsaly"
migration:
  destination_country: CHN
  destination_area: "a Chinese province neighbouring northern Laos"
  sector_before: rubber
  sector: agriculture
  channel: licensed_agency
themes: [resilience, safe_migration, income, family]
collected:
  programme: Asia Regional Migration Program
  activity: Flow Monitoring Survey
  fmp: LAO_FMP_001
---
Summary written for this example: a mother of four who tapped some 1,500 rubber trees
for her family business, starting work at 2 am, while rubber prices moved between
12,000 and 20,000 LAK per kilogram. She went to harvest crops on farms across the
border in China, through an agency she had checked herself, and earned far more than
she could at home.
"""

STORY = """\
---
id: lao-2025-test
title: "A test story"
published: 2025-01-15
language: en
consent: public
person:
  pseudonym: Noy
  age: 31
residence:
  place: "Muang Sing, Luang Namtha"
origin:
  place: "Vientiane"
migration:
  destination_country: THA
  sector: construction
  channel: friends_family
themes: [income]
collected:
  fmp: LAO_FMP_003
---
She crossed at Pang Hai.
"""

LOADED = LoadCounts(rows_read=1, rows_loaded=1, rows_duplicate=0, rows_quarantined=0)
DUPLICATE = LoadCounts(rows_read=1, rows_loaded=0, rows_duplicate=1, rows_quarantined=0)
QUARANTINED = LoadCounts(rows_read=1, rows_loaded=0, rows_duplicate=0, rows_quarantined=1)


def story_file(folder: Path, text: str, name: str = "story.md") -> LandingFile:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return LandingFile("stories", path, 1)


def load(warehouse: duckdb.DuckDBPyConnection, form: Form, landing: LandingFile) -> LoadCounts:
    return load_story_file(warehouse, form, landing, "run-1")


def stored(warehouse: duckdb.DuckDBPyConnection, columns: str) -> list[tuple]:
    return warehouse.execute(f"SELECT {columns} FROM raw.stories ORDER BY id").fetchall()


def quarantined(warehouse: duckdb.DuckDBPyConnection) -> list[tuple]:
    return warehouse.execute(
        "SELECT source, file_name, row_number, column_name, reason, value, record "
        "FROM quarantine.rows ORDER BY column_name"
    ).fetchall()


def test_the_contract_example_loads_with_its_residence_resolved_by_alias(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    landing = story_file(tmp_path, CONTRACT_EXAMPLE, "lao-2024-buakham.md")
    assert load(warehouse, form, landing) == LOADED
    assert stored(
        warehouse,
        "id, published, consent, pseudonym, person_age, residence_adm1_code, "
        "residence_adm2_code, residence_match_quality, origin_adm1_code, origin_adm2_code, "
        "origin_match_quality, destination_country, themes, collected_fmp, source_file",
    ) == [
        (
            "lao-2024-buakham",
            "2024-06-20",
            "public",
            "Buakham",
            "48",
            "LA-LM",
            "LA0301",
            "alias",
            "LA-PH",
            "LA0204",
            "alias",
            "CHN",
            ["resilience", "safe_migration", "income", "family"],
            "LAO_FMP_001",
            "lao-2024-buakham.md",
        )
    ]
    ((note,),) = stored(warehouse, "origin_match_note")
    assert "nearest official one: Samphanh" in note


def test_the_body_is_stored_without_the_front_matter(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    load(warehouse, form, story_file(tmp_path, STORY))
    assert stored(warehouse, "body") == [("She crossed at Pang Hai.",)]


def test_an_ambiguous_place_is_kept_as_written_and_marked_unmatched(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    load(warehouse, form, story_file(tmp_path, STORY))
    assert stored(
        warehouse, "origin_place, origin_adm1_code, origin_adm2_code, origin_match_quality"
    ) == [("Vientiane", None, None, "unmatched")]


def test_a_story_without_places_has_no_match_quality(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    text = STORY.replace('residence:\n  place: "Muang Sing, Luang Namtha"\n', "")
    load(warehouse, form, story_file(tmp_path, text))
    assert stored(warehouse, "residence_place, residence_match_quality") == [(None, None)]


def test_a_story_missing_its_id_is_quarantined_with_the_column_named(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    landing = story_file(tmp_path, STORY.replace("id: lao-2025-test\n", ""), "no-id.md")
    assert load(warehouse, form, landing) == QUARANTINED
    [(source, file_name, row_number, column, reason, value, record)] = quarantined(warehouse)
    assert (source, file_name, row_number, column, reason, value) == (
        "stories",
        "no-id.md",
        1,
        "id",
        "required field missing",
        None,
    )
    assert json.loads(record)["person"]["pseudonym"] == "Noy"
    assert "Pang Hai" not in record  # the body is never copied into quarantine
    assert stored(warehouse, "id") == []


def test_every_violation_of_a_story_is_quarantined_with_its_column(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    text = (
        STORY.replace("  pseudonym: Noy\n", "")
        .replace("sector: construction", "sector: mining")
        .replace("channel: friends_family", "channel: smuggler")
        .replace("destination_country: THA", "destination_country: Thailand")
        .replace("fmp: LAO_FMP_003", "fmp: LAO_FMP_999")
        .replace("consent: public", "consent: maybe")
        .replace("published: 2025-01-15", "published: last spring")
    )
    assert load(warehouse, form, story_file(tmp_path, text)) == QUARANTINED
    assert [(row[3], row[5]) for row in quarantined(warehouse)] == [
        ("collected.fmp", "LAO_FMP_999"),
        ("consent", "maybe"),
        ("migration.channel", "smuggler"),
        ("migration.destination_country", "Thailand"),
        ("migration.sector", "mining"),
        ("person.pseudonym", None),
        ("published", "last spring"),
    ]


def test_a_quarantined_story_keeps_dates_readable_in_its_record(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    load(warehouse, form, story_file(tmp_path, STORY.replace("consent: public", "consent: no")))
    [row] = quarantined(warehouse)
    assert (row[3], row[5]) == ("consent", "false")  # YAML reads a bare `no` as false
    assert json.loads(row[6])["published"] == "2025-01-15"


@pytest.mark.parametrize(
    "text",
    [
        "---\ntitle: [unclosed\n---\nbody\n",
        "No front matter, just a story.\n",
        "---\n- a list\n- not fields\n---\nbody\n",
    ],
)
def test_a_story_file_without_readable_front_matter_is_unreadable(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path, text: str
) -> None:
    with pytest.raises(UnreadableFile):
        load(warehouse, form, story_file(tmp_path, text))


def test_a_story_file_that_is_not_utf8_is_unreadable(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(STORY.replace("Noy", "Noÿ").encode("latin-1"))
    with pytest.raises(UnreadableFile, match="UTF-8"):
        load(warehouse, form, LandingFile("stories", path, 1))


def test_the_same_story_twice_is_a_duplicate(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    assert load(warehouse, form, story_file(tmp_path, STORY, "a.md")) == LOADED
    assert load(warehouse, form, story_file(tmp_path, STORY, "b.md")) == DUPLICATE
    assert stored(warehouse, "id, source_file") == [("lao-2025-test", "a.md")]


def test_a_changed_story_replaces_the_held_one(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    load(warehouse, form, story_file(tmp_path, STORY, "a.md"))
    changed = STORY.replace("A test story", "A corrected title")
    assert load(warehouse, form, story_file(tmp_path, changed, "b.md")) == LOADED
    assert stored(warehouse, "id, title, source_file") == [
        ("lao-2025-test", "A corrected title", "b.md")
    ]


def test_an_internal_story_is_loaded_into_the_internal_raw_layer(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    text = STORY.replace("consent: public", "consent: internal")
    assert load(warehouse, form, story_file(tmp_path, text)) == LOADED
    assert stored(warehouse, "consent") == [("internal",)]


def test_the_loader_leaves_the_transaction_to_its_caller(
    warehouse: duckdb.DuckDBPyConnection, form: Form, tmp_path: Path
) -> None:
    warehouse.execute("BEGIN TRANSACTION")
    load(warehouse, form, story_file(tmp_path, STORY))
    warehouse.execute("ROLLBACK")
    assert stored(warehouse, "id") == []
