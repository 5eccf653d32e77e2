"""The package as users install it: a wheel with every stage, the dbt project and the suites,
that runs `fmw sample` and `fmw refresh` from outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_PACKAGES = {"flows.dbt_project", "flows.expectations"}  # folders mapped into the wheel
NOT_SOURCES = (".git", ".venv", "build", "data", "landing", "*.egg-info", "__pycache__", "target")


def _listed_packages() -> set[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["setuptools"]["packages"])


def _packages_in_tree() -> set[str]:
    return {
        ".".join(init.parent.relative_to(REPO_ROOT).parts)
        for init in (REPO_ROOT / "flows").rglob("__init__.py")
    }


def test_every_package_under_flows_is_listed_for_the_wheel():
    assert _listed_packages() - DATA_PACKAGES == _packages_in_tree()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools builds in the source folder and reuses its build/.
    source = tmp_path_factory.mktemp("source") / "project"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("flow_monitoring_warehouse-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_module_the_dbt_project_and_the_suites(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "flows").rglob("*.py")
    }
    assert modules <= names
    assert "flows/dbt_project/dbt_project.yml" in names
    assert "flows/dbt_project/profiles.yml" in names
    assert "flows/dbt_project/models/marts/migration/fms_corridor_monthly.sql" in names
    assert "flows/expectations/raw_fms_submissions.json" in names
    assert "flows/reference/fms_form.xlsx" in names
    assert any(n.startswith("flows/sample/stories/") and n.endswith(".md") for n in names)
    assert not any("/target/" in n or "__pycache__" in n for n in names)


@pytest.mark.slow
def test_an_installed_wheel_samples_and_refreshes_outside_the_source_tree(
    wheel: Path, tmp_path: Path
):
    installed = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(installed)]
        + [str(wheel)],
        check=True,
        capture_output=True,
    )
    # The wheel's code, the project's dependencies from this environment; the interpreter
    # without this environment's site-packages, so the editable source install is invisible.
    dependencies = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), dependencies])}
    env = {k: v for k, v in env.items() if not k.startswith("PREFECT_API")}
    python = getattr(sys, "_base_executable", sys.executable)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def fmw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "flows.cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    where = subprocess.run(
        [python, "-c", "import flows; print(flows.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(installed))
    sampled = fmw("sample", "--out", "landing", "--surveys", "300")
    assert sampled.returncode == 0, sampled.stderr
    refreshed = fmw("refresh")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert (work / "data" / "published" / "warehouse.duckdb").is_file()
