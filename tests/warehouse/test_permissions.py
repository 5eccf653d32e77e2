"""internal/ is private (or shared with one group) whatever the umask; published/ stays
readable by every local user."""

from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.config import Settings
from flows.warehouse.permissions import (
    InternalAccess,
    PermissionSetupError,
    internal_access,
    internal_kept_private,
    prepare_data_dir,
    process_umask,
    restrict_tree,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _modes(root: Path) -> dict[str, int]:
    """Mode of `root` and of everything under it that is not a link, by relative path."""
    found = {".": _mode(root)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = _mode(path)
    return found


def _old_tree(root: Path) -> None:
    """A tree as older code or a careless umask leaves it: readable or writable by all."""
    (root / "prefect").mkdir(parents=True)
    (root / "data_docs" / "validations").mkdir(parents=True)
    (root / "warehouse.duckdb").write_bytes(b"respondent rows")
    (root / "warehouse.duckdb.wal").write_bytes(b"wal")
    (root / "prefect" / "prefect.db").write_bytes(b"state")
    (root / "data_docs" / "validations" / "index.html").write_text("raw values")


@pytest.fixture
def umask_000() -> Iterator[None]:
    with process_umask(0):
        yield


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_restrict_tree_makes_everything_owner_only_whatever_the_umask(tmp_path, mask):
    internal = tmp_path / "internal"
    with process_umask(mask):
        _old_tree(internal)
        restrict_tree(internal, InternalAccess())

    modes = _modes(internal)
    assert len(modes) == 8
    for name, mode in modes.items():
        is_dir = (internal / name).is_dir()
        assert mode == (0o700 if is_dir else 0o600), name


def _other_group() -> grp.struct_group:
    """A group the test may give files to: any, as root; else this process's own."""
    if os.geteuid() == 0:
        return next(g for g in grp.getgrall() if g.gr_gid != os.getegid())
    return grp.getgrgid(os.getegid())


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_with_a_group_internal_is_readable_by_that_group_only(tmp_path, mask):
    group = _other_group()
    internal = tmp_path / "internal"
    access = internal_access(group.gr_name)
    with process_umask(mask):
        _old_tree(internal)
        restrict_tree(internal, access)
        (internal / "prefect" / "new.db").write_bytes(b"created after")  # under the old umask

    for path in [internal, *internal.rglob("*")]:
        if path.name == "new.db":
            assert path.stat().st_gid == group.gr_gid  # the setgid folder hands its group on
            continue
        assert path.stat().st_gid == group.gr_gid, path
        assert _mode(path) & 0o777 == (0o750 if path.is_dir() else 0o640), path
        if path.is_dir():
            assert _mode(path) & stat.S_ISGID


def test_an_unknown_group_is_named_in_the_error():
    with pytest.raises(PermissionSetupError, match="'no-such-fmw-group'.*does not exist"):
        internal_access("no-such-fmw-group")


def test_links_under_internal_are_not_followed(tmp_path):
    outside = tmp_path / "landing.csv"
    outside.write_text("a,b\n")
    outside.chmod(0o644)
    internal = tmp_path / "internal"
    internal.mkdir()
    (internal / "link.csv").symlink_to(outside)

    restrict_tree(internal, InternalAccess())

    assert _mode(outside) == 0o644


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_a_new_data_dir_has_a_readable_published_and_a_private_internal(tmp_path, mask):
    data = tmp_path / "nested" / "data"
    with process_umask(mask):
        prepare_data_dir(data, data / "internal", data / "published", InternalAccess())

    assert _mode(tmp_path / "nested") == 0o755
    assert _mode(data) == 0o755
    assert _mode(data / "published") == 0o755
    assert _mode(data / "internal") == 0o700


def test_an_existing_data_dir_is_tightened_and_published_files_are_not_writable_by_others(
    tmp_path, umask_000
):
    data = tmp_path / "data"
    _old_tree(data / "internal")
    (data / "published" / "report").mkdir(parents=True)
    (data / "published" / "warehouse.duckdb").write_bytes(b"aggregates")
    (data / "published" / "report" / "index.html").write_text("<html>")

    prepare_data_dir(data, data / "internal", data / "published", InternalAccess())

    assert set(_modes(data / "internal").values()) == {0o700, 0o600}
    assert _modes(data / "published") == {
        ".": 0o755,
        "warehouse.duckdb": 0o644,
        "report": 0o755,
        "report/index.html": 0o644,
    }
    assert _mode(data) == 0o755


def test_a_child_process_started_by_a_refresh_creates_private_files(tmp_path, umask_000):
    settings = Settings(landing_dir=tmp_path / "landing", data_dir=tmp_path / "data")
    child_file = settings.internal_dir / "worker.out"
    with internal_kept_private(settings):
        subprocess.run(
            [sys.executable, "-c", f"open({str(child_file)!r}, 'w').write('x')"], check=True
        )
        assert _mode(child_file) == 0o600
    assert os.umask(0) == 0  # the process's own umask is given back


def test_what_others_wrote_meanwhile_is_tightened_when_the_refresh_ends(tmp_path):
    settings = Settings(landing_dir=tmp_path / "landing", data_dir=tmp_path / "data")
    late = settings.internal_dir / "prefect" / "prefect.db"
    with internal_kept_private(settings):
        late.parent.mkdir()
        late.write_text("written by a server started with another umask")
        late.chmod(0o644)
    assert _mode(late) == 0o600 and _mode(late.parent) == 0o700


@pytest.mark.slow
def test_a_refresh_under_umask_000_leaves_internal_private_and_published_readable(tmp_path):
    from flows.sample.generator import generate_landing_zone

    generate_landing_zone(tmp_path / "landing", surveys=300, seed=11)
    data = tmp_path / "data"
    with process_umask(0o022):  # what older code left: 0755 folders, 0644 files
        _old_tree(data / "internal" / "legacy")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    refresh = subprocess.run(
        [sys.executable, "-m", "flows.cli", "refresh"]
        + ["--landing", str(tmp_path / "landing"), "--data-dir", str(data)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        preexec_fn=lambda: os.umask(0),
    )
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr

    internal = _modes(data / "internal")
    assert {"prefect", "dbt_target", "dbt_logs", "data_docs", "snapshots"} <= set(internal)
    assert any(name.endswith(".wal") or name == "warehouse.duckdb" for name in internal)
    wrong = {
        name: oct(mode)
        for name, mode in internal.items()
        if mode != (0o700 if (data / "internal" / name).is_dir() else 0o600)
    }
    assert wrong == {}
    published = _modes(data / "published")
    assert {"warehouse.duckdb", "docs/index.html", "report/index.html"} <= set(published)
    wrong = {
        name: oct(mode)
        for name, mode in published.items()
        if mode != (0o755 if (data / "published" / name).is_dir() else 0o644)
    }
    assert wrong == {}
    assert _mode(data) == 0o755


def test_a_rollback_keeps_internal_private_and_gives_the_callers_umask_back(tmp_path):
    from flows.cli import main

    data = tmp_path / "data"
    with process_umask(0):
        status = main(["rollback", "--data-dir", str(data)])  # nothing to roll back to
        assert os.umask(0) == 0
    assert status == 1
    assert _mode(data / "internal") == 0o700 and _mode(data / "published") == 0o755


def test_the_group_comes_from_fmw_internal_group(tmp_path, monkeypatch, capsys):
    from flows.cli import main
    from flows.config import resolve_settings

    group = _other_group()
    monkeypatch.setenv("FMW_INTERNAL_GROUP", group.gr_name)
    assert internal_access(resolve_settings().internal_group).gid == group.gr_gid

    monkeypatch.setenv("FMW_INTERNAL_GROUP", "no-such-fmw-group")
    status = main(["refresh", "--data-dir", str(tmp_path / "data"), "--landing", str(tmp_path)])
    assert status == 1
    assert "refresh failed: FMW_INTERNAL_GROUP names the group 'no-such-fmw-group'" in (
        capsys.readouterr().err
    )
