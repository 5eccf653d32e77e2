"""bench/profile_ingest.py says where an ingest's seconds go, its checkpoints included."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from flows.sample.generator import generate_landing_zone
from tests.helpers.bench_scripts import load_bench_script


def test_the_profile_names_each_statement_the_closing_checkpoint_and_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = tmp_path / "landing"
    generate_landing_zone(landing, surveys=200, seed=20260301, csv_only=True)
    monkeypatch.setattr(sys, "argv", ["profile_ingest.py", str(landing), str(tmp_path / "data")])

    assert load_bench_script("profile_ingest").main() == 0

    printed = capsys.readouterr().out
    loaded = int(re.search(r"ingest [0-9.]+ s, ([0-9,]+) rows loaded", printed)[1].replace(",", ""))
    assert loaded > 200
    assert "one_pass._create_in_file_order: CREATE OR REPLACE TEMP TABLE fms_validated" in printed
    assert re.search(r"[0-9.]+ s  closing the database", printed)
    assert re.search(r"[0-9.]+ s  the next connection's first checkpoint", printed)
    assert "per file:" in printed
