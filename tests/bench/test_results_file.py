"""bench/results.md is shared between bench/run.py and bench/lake.py (bench/results_file.py)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.helpers.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def results_file() -> ModuleType:
    return load_bench_script("results_file")


def test_rerunning_bench_run_keeps_the_lake_benchmarks_section(results_file, tmp_path):
    results = tmp_path / "results.md"
    results_file.write_body(results, "# Benchmark results\n\nfull 111.8 s\n")
    results_file.write_section(results, "bench/lake.py", "## DuckLake\n\nlake / file 1.10")

    results_file.write_body(results, "# Benchmark results\n\nfull 90.0 s\n")

    text = results.read_text()
    assert "full 90.0 s" in text and "full 111.8 s" not in text
    assert "lake / file 1.10" in text
    assert text.index("full 90.0 s") < text.index("<!-- begin bench/lake.py -->")


def test_rerunning_bench_lake_replaces_only_its_own_section(results_file, tmp_path):
    results = tmp_path / "results.md"
    results_file.write_body(results, "# Benchmark results\n\nfull 111.8 s\n")
    results_file.write_section(results, "bench/lake.py", "lake / file 1.10")
    results_file.write_section(results, "bench/other.py", "other 1")

    results_file.write_section(results, "bench/lake.py", "lake / file 1.05")

    text = results.read_text()
    assert "lake / file 1.05" in text and "lake / file 1.10" not in text
    assert "full 111.8 s" in text and "other 1" in text
    assert text.count("<!-- begin bench/lake.py -->") == 1
