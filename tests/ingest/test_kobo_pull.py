"""Specification of flows.ingest.kobo_pull against a local server playing KoboToolbox's data
API v2: incremental by `_id`, resumable, never rewriting a file, retrying what is transient."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import main
from flows.form.xlsform import Form
from flows.ingest.kobo_pull import (
    KoboPullError,
    KoboSource,
    Retry,
    last_pulled_id,
    pull_kobo,
)
from flows.ingest.landing_zone import ingest_landing_zone
from tests.helpers.kobo_files import submission
from tests.helpers.kobo_server import ASSET, TOKEN, KoboApi, kobo_api

FAST = Retry(attempts=4, backoff_seconds=0.01, max_wait_seconds=5)


def record(kobo_id: int) -> dict[str, Any]:
    """One submission as the API serves it (JSON types, validation status as an object)."""
    row = {k: v for k, v in submission(f"uuid-{kobo_id:04d}").items() if v != ""}
    row["_id"] = kobo_id
    row["_validation_status"] = {"uid": row.pop("_validation_status"), "label": "Approved"}
    row["_notes"], row["_tags"] = [], []
    return row


@pytest.fixture
def api() -> KoboApi:
    with kobo_api() as server:
        server.add(*(record(i) for i in range(1, 26)))
        yield server


def source(api: KoboApi, token: str = TOKEN) -> KoboSource:
    return KoboSource(api.url, ASSET, token).checked()


def pulled_ids(landing: Path) -> list[int]:
    return [
        result["_id"]
        for page in sorted((landing / "fms").glob("kobo_*.json"))
        for result in json.loads(page.read_text())["results"]
    ]


def test_a_first_pull_writes_every_submission_as_the_api_pages_it_followed(
    api: KoboApi, landing: Path
) -> None:
    summary = pull_kobo(source(api), landing, page_size=10, retry=FAST)

    assert summary.submissions == 25 and summary.count == 25 and summary.last_id == 25
    names = sorted(p.name for p in (landing / "fms").iterdir() if not p.name.startswith("."))
    assert [name.split("_id")[1] for name in names] == [
        "0000000001-0000000010.json",
        "0000000011-0000000020.json",
        "0000000021-0000000025.json",
    ]
    first = json.loads((landing / "fms" / names[0]).read_text())
    assert (
        first["count"] == 25 and first["next"].startswith(api.url) and len(first["results"]) == 10
    )
    assert pulled_ids(landing) == list(range(1, 26))
    assert all(auth == f"Token {TOKEN}" for _, auth in api.requests)
    assert "start=10" in api.requests[1][0] and "start=20" in api.requests[2][0]  # `next`


def test_a_later_pull_asks_only_for_newer_submissions_and_never_rewrites_a_file(
    api: KoboApi, landing: Path
) -> None:
    pull_kobo(source(api), landing, page_size=10, retry=FAST)
    before = {p: p.read_bytes() for p in (landing / "fms").glob("kobo_*.json")}
    api.add(*(record(i) for i in range(26, 31)))
    api.requests.clear()

    summary = pull_kobo(source(api), landing, page_size=10, retry=FAST)

    assert (summary.after_id, summary.submissions, len(summary.files)) == (25, 5, 1)
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(api.requests[0][0]).query))
    assert json.loads(asked["query"]) == {"_id": {"$gt": 25}}
    assert json.loads(asked["sort"]) == {"_id": 1}
    assert {p: p.read_bytes() for p in before} == before
    assert pulled_ids(landing) == list(range(1, 31))
    nothing = pull_kobo(source(api), landing, page_size=10, retry=FAST)
    assert nothing.files == [] and nothing.describe() == "no new submissions (_id after 30)"


def test_a_pull_interrupted_by_an_outage_resumes_after_its_last_complete_page(
    api: KoboApi, landing: Path
) -> None:
    api.fail_after_pages = 2

    with pytest.raises(KoboPullError, match="gave up after 4 attempts .HTTP 500"):
        pull_kobo(source(api), landing, page_size=10, retry=FAST)

    assert pulled_ids(landing) == list(range(1, 21))
    assert last_pulled_id(landing / "fms", ASSET) == 20
    api.fail_after_pages = None
    resumed = pull_kobo(source(api), landing, page_size=10, retry=FAST)
    assert resumed.after_id == 20
    assert pulled_ids(landing) == list(range(1, 26))  # each submission once
    assert not list((landing / "fms").glob(".*.partial"))


def test_rate_limits_and_server_errors_are_retried_with_backoff(
    api: KoboApi, landing: Path
) -> None:
    api.scripted = [(429, {"Retry-After": "3"}), (503, {}), (502, {})]
    waits: list[float] = []

    summary = pull_kobo(
        source(api), landing, retry=Retry(attempts=5, backoff_seconds=0.5), sleep=waits.append
    )

    assert waits == [3.0, 1.0, 2.0]  # Retry-After, then 0.5 s doubling per attempt
    assert summary.retries == 3 and summary.submissions == 25


def test_a_refused_token_says_what_to_fix_and_is_not_retried(api: KoboApi, landing: Path) -> None:
    with pytest.raises(KoboPullError, match="refused the token .401.: check KOBO_TOKEN"):
        pull_kobo(source(api, token="wrong"), landing, retry=FAST)

    assert len(api.requests) == 1
    assert list((landing / "fms").glob("kobo_*")) == []


def test_the_token_never_travels_in_clear_text_or_to_another_host(api: KoboApi) -> None:
    with pytest.raises(KoboPullError, match="clear text to kobo.example.org"):
        KoboSource("http://kobo.example.org", ASSET, TOKEN).checked()
    assert not source(api).same_origin("https://elsewhere.example.org/api/v2/")


def test_the_pulled_pages_load_like_any_kobo_export(
    api: KoboApi, landing: Path, warehouse: duckdb.DuckDBPyConnection, form: Form
) -> None:
    pull_kobo(source(api), landing, page_size=10, retry=FAST)

    summary = ingest_landing_zone(warehouse, form, landing, "run-1")

    assert [(f.status, f.counts.rows_loaded) for f in summary.files] == [("loaded", 10)] * 2 + [
        ("loaded", 5)
    ]
    (held,) = warehouse.execute("SELECT count(DISTINCT _uuid) FROM raw.fms_submissions").fetchone()
    assert held == 25


def test_fmw_pull_kobo_reads_the_server_and_asset_from_the_environment(
    api: KoboApi, landing: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    monkeypatch.setenv("KOBO_SERVER_URL", api.url)
    monkeypatch.setenv("KOBO_ASSET_UID", ASSET)

    assert main(["pull", "kobo", "--landing", str(landing)]) == 0

    assert "25 submissions (every submission, up to 25) in 1 page files" in capsys.readouterr().out
    monkeypatch.delenv("KOBO_TOKEN")
    assert main(["pull", "kobo", "--landing", str(landing)]) == 1
    assert "set KOBO_TOKEN" in capsys.readouterr().err


@pytest.mark.slow
def test_the_nightly_refresh_pulls_before_it_ingests_and_goes_on_when_the_pull_fails(
    api: KoboApi,
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_harness: None,
) -> None:
    from flows.nightly import nightly_refresh

    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    data = tmp_path / "data"

    first = nightly_refresh(
        landing_dir=str(landing), data_dir=str(data), kobo_asset=ASSET, kobo_server=api.url
    )

    assert first.status == "published"
    assert first.kobo_pull == "25 submissions (every submission, up to 25) in 1 page files"
    published = duckdb.connect(first.published_db, read_only=True)
    with published:
        (loaded,) = published.execute(
            "SELECT sum(rows_loaded) FROM ops.file_loads WHERE file_name LIKE 'kobo_%'"
        ).fetchone()
    assert loaded == 25
    monkeypatch.setenv("KOBO_TOKEN", "revoked")
    second = nightly_refresh(
        landing_dir=str(landing), data_dir=str(data), kobo_asset=ASSET, kobo_server=api.url
    )
    assert second.status == "published"
    assert second.kobo_pull.startswith("failed: ") and "check KOBO_TOKEN" in second.kobo_pull
