"""How pytest-xdist shares the suite between its workers (pyproject's addopts: `-n 2 --dist
loadfile`): a file's tests run on one worker, so its module fixtures (a refreshed warehouse, a
work pool) are built once; the longest files are handed out first, so that neither worker is
left running one of them alone at the end; and files that read one session fixture of their
own kind go together, so that it is built once."""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadFileScheduling

# The longest files, longest first (about 3 to 0.5 minutes each on 2 cores); the others
# follow in pytest's order. Only the order depends on this list: a file missing from it runs
# all the same.
LONGEST_FIRST = (
    "tests/ops/test_kill_campaign.py",
    "tests/test_lake_refresh.py",
    "tests/test_lake_refresh_on_s3.py",
    "tests/test_end_to_end.py",
    "tests/ops/test_deployment.py",
    "tests/transform/test_partial_builds.py",
    "tests/test_packaging.py",
    "tests/test_nightly.py",
    "tests/warehouse/test_permissions.py",
    "tests/ops/test_deployment_on_postgres.py",
    "tests/ingest/test_kobo_pull.py",
    "tests/test_hostile_refresh.py",
    "tests/quality/test_quality_flow.py",
)

# Files that read conftest.sample_refresh, one 800-survey refresh: on one worker.
TOGETHER = {
    "tests/disclosure/test_audit_of_the_publication.py": "tests/test_end_to_end.py",
    "tests/transform/test_protection_end_to_end.py": "tests/test_end_to_end.py",
}


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or the file it goes together with."""
    path = nodeid.split("::", 1)[0]
    return TOGETHER.get(path, path)


def longest_first(items: list[pytest.Item]) -> None:
    """Order `items` by unit of work, the longest units first; pytest's order otherwise."""
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(unit_of(item.nodeid), index)

    def rank(unit: str) -> tuple[int, int]:
        if unit in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(unit))
        return (1, first_seen[unit])

    items.sort(key=lambda item: rank(unit_of(item.nodeid)))


class UnitScheduling(LoadFileScheduling):
    """--dist loadfile, with the files of TOGETHER as one unit. The units are handed out in
    the workers' collection order (--no-loadscope-reorder), which longest_first sets."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
