"""The Prefect artifacts that summarise a run's quality results in the UI."""

from __future__ import annotations

from typing import Any

from flows.quality.data_docs import DataDocs
from flows.quality.gates import QualityReport
from flows.quality.results import verdict


def create_quality_artifacts(run_id: str, report: QualityReport, docs: DataDocs) -> None:
    """A table of the checks and a markdown summary linking the Data Docs; call from a task."""
    # Imported here: the quality worker imports this module and has no Prefect run.
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_table_artifact(
        table=artifact_table(report), key="quality-checks", description=report.summary()
    )
    create_markdown_artifact(
        markdown=artifact_markdown(run_id, report, docs),
        key="quality-report",
        description=f"Quality gates of run {run_id}",
    )


def artifact_table(report: QualityReport) -> list[dict[str, Any]]:
    """One row per check that did not pass, critical first; every check when all passed."""
    order = {"critical": 0, "warning": 1}
    not_passed = [r for r in report.results if r.success is not True]
    rows = sorted(not_passed, key=lambda r: order.get(r.severity, 2)) or report.results
    return [
        {
            "suite": r.suite,
            "check": r.check_name,
            "severity": r.severity,
            "verdict": verdict(r)[1],
            "observed": r.observed,
        }
        for r in rows
    ]


def artifact_markdown(run_id: str, report: QualityReport, docs: DataDocs) -> str:
    """The verdict, the Data Docs (GX's index, and the page of every suite run that did not
    pass cleanly), and each check that failed or could not be evaluated."""
    gate = "**blocked publication**" if report.blocks_publication else "passed the gate"
    lines = [
        f"# Quality, run `{run_id}`",
        "",
        f"{report.summary()}: {gate}.",
        "",
        f"[Data Docs: every suite run]({docs.index.resolve().as_uri()})",
    ]
    if docs.error:
        lines += ["", f"Data Docs of this run could not be built: {docs.error}"]
    not_clean = {r.suite for r in report.results if r.success is not True}
    pages = [(suite, page) for suite, page in docs.pages.items() if suite in not_clean]
    if pages:
        lines += ["", "Data Docs of the suite runs with a check that did not pass:", ""]
        lines += [f"- [`{suite}`]({page.resolve().as_uri()})" for suite, page in pages]
    for title, results in (
        ("Critical failures", report.critical_failures),
        ("Could not be evaluated", report.errors),
        ("Warnings", report.warnings),
    ):
        if results:
            lines += ["", f"## {title}", ""]
            lines += [f"- `{r.suite}` {r.check_name}: {r.observed}" for r in results]
    return "\n".join(lines) + "\n"
