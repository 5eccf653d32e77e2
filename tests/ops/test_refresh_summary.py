"""Specification of what `fmw refresh` prints: a line per source and every failed file with
its reason; a line per landing file only when asked; progress lines only for exceptions."""

from __future__ import annotations

import pytest

from flows.nightly import RefreshOutcome
from flows.ops import progress
from flows.ops.refresh_summary import summary_lines
from flows.step import Step


def _file(source: str, name: str, status: str, read: int, loaded: int, duplicate: int = 0,
          quarantined: int = 0, reason: str | None = None) -> dict[str, object]:  # fmt: skip
    counts = {"rows_read": read, "rows_loaded": loaded, "rows_duplicate": duplicate,
              "rows_quarantined": quarantined}  # fmt: skip
    return {"source": source, "file_name": name, "status": status, "counts": counts,
            "reason": reason}  # fmt: skip


STORIES = [_file("stories", f"s{i}.md", "loaded", 1, 1) for i in range(36)]
OUTCOME = RefreshOutcome(
    run_id="r1",
    status="published",
    files=[
        _file("fms", "a.csv", "loaded", 100, 90, 8, 2),
        _file("fms", "a (1).csv", "skipped_same_bytes", 100, 0, 100),
        *STORIES,
        _file("stories", "bad.md", "failed", 0, 0, reason="front matter is not valid YAML"),
    ],
    quality="10/10 checks passed",
)


def test_the_summary_has_a_line_per_source_and_every_failed_file_with_its_reason() -> None:
    assert summary_lines(OUTCOME) == [
        "run r1: published",
        "  fms: 2 files (1 loaded, 1 same bytes as a loaded file); rows read 200: loaded 90, "
        "duplicate 108, quarantined 2",
        "  stories: 37 files (36 loaded, 1 failed); rows read 36: loaded 36, duplicate 0, "
        "quarantined 0",
        "  1 failed file:",
        "    stories/bad.md: front matter is not valid YAML",
        "  quality: 10/10 checks passed",
    ]


def test_verbose_adds_a_line_per_file_under_its_source() -> None:
    lines = summary_lines(OUTCOME, verbose=True)

    assert len(lines) == len(summary_lines(OUTCOME)) + len(OUTCOME.files)
    assert lines[2] == "    fms/a.csv: loaded, read 100, loaded 90, duplicate 8, quarantined 2"


def test_a_refresh_with_no_new_file_says_so() -> None:
    assert summary_lines(RefreshOutcome(run_id="r2", status="published"))[1] == (
        "  no new landing files"
    )


@pytest.fixture
def quiet() -> None:
    yield
    progress.configure(verbose=False)


def test_without_a_terminal_only_failed_items_are_said(
    capsys: pytest.CaptureFixture[str], quiet: None
) -> None:
    progress.step(Step("ingest fms", 1, 2, "a.csv", "loaded"))  # captured: not a terminal
    progress.step(Step("ingest fms", 2, 2, "b.csv", "failed"))

    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("] ingest fms 2/2: b.csv: failed")


def test_verbose_says_every_item(capsys: pytest.CaptureFixture[str], quiet: None) -> None:
    progress.configure(verbose=True)

    progress.step(Step("ingest fms", 1, 2, "a.csv", "loaded"))
    progress.step(Step("ingest fms", 2, 2, "b.csv", "already loaded"))

    assert [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()] == [
        "ingest fms 1/2: a.csv: loaded",
        "ingest fms 2/2: b.csv: already loaded",
    ]
