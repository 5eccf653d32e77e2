"""The Vega bundle is built once per data directory and read by the report and Data Docs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import vl_convert

from flows.vega import vega_bundle


def test_two_threads_that_build_the_bundle_at_once_both_get_a_whole_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # publish and the Data Docs, side by side, can both find the bundle missing
    # and each writes its bundle before either puts its own in place
    both_building, both_written = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)
    bundle = vl_convert.javascript_bundle()
    replace = os.replace

    def built_side_by_side() -> str:
        both_building.wait()
        return bundle

    def replaced_side_by_side(source: str | Path, target: str | Path) -> None:
        both_written.wait()
        replace(source, target)

    monkeypatch.setattr(vl_convert, "javascript_bundle", built_side_by_side)
    monkeypatch.setattr(os, "replace", replaced_side_by_side)
    found: list[Path] = []
    failed: list[BaseException] = []

    def build() -> None:
        try:
            found.append(vega_bundle(tmp_path))
        except BaseException as error:
            failed.append(error)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert len(found) == 2 and found[0] == found[1]
    assert found[0].read_text(encoding="utf-8") == bundle
    assert [p.name for p in tmp_path.iterdir()] == [found[0].name]  # no partial file left
