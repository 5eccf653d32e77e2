"""Data Docs: a run's quality results as static, offline HTML pages.

GX's own renderer links its styles and scripts from CDNs, and these pages must work offline.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.config import Settings
from flows.quality.gates import QualityReport
from flows.quality.results import SuiteValidation, verdict


def data_docs_dir(settings: Settings) -> Path:
    return settings.internal_dir / "data_docs"


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.passed { color: #1a7f37; } .failed { color: #cf222e; font-weight: bold; }
.warning { color: #9a6700; font-weight: bold; } .error { color: #8250df; font-weight: bold; }
code, pre { font-size: 85%; white-space: pre-wrap; }
"""


def render_data_docs(settings: Settings, run_id: str, report: QualityReport) -> Path:
    """Write the run's page and refresh the index of every run; returns the run's page."""
    docs = data_docs_dir(settings)
    (docs / "runs").mkdir(parents=True, exist_ok=True)
    page = docs / "runs" / f"{run_id}.html"
    page.write_text(_run_page(run_id, report), encoding="utf-8")
    (docs / "index.html").write_text(_index_page(settings), encoding="utf-8")
    return page


def _html_page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n"
        "</body></html>\n"
    )


def _run_page(run_id: str, report: QualityReport) -> str:
    status = "blocks publication" if report.blocks_publication else "may be published"
    parts = [
        f"<p><b>{html.escape(report.summary())}</b>: {status}. "
        '<a href="../index.html">All runs</a></p>'
    ]
    for validation in report.validations:
        parts.append(_suite_table(validation))
    return _html_page(f"Quality run {run_id}", "\n".join(parts))


def _suite_table(validation: SuiteValidation) -> str:
    examples = _examples(validation.gx_result)
    rows = []
    for check, expectation in zip(validation.checks, validation.expectations, strict=True):
        css, text = verdict(check)
        kwargs = json.dumps(expectation.get("kwargs", {}), indent=1, ensure_ascii=False)
        description = expectation.get("description") or ""
        observed = check.error or check.observed
        if examples.get(expectation.get("id")) and check.success is False:
            observed += f" (examples: {examples[expectation['id']]})"
        rows.append(
            f'<tr><td class="{css}">{text}</td><td>{check.severity}</td>'
            f"<td>{html.escape(check.check_name)}<br><small>{html.escape(description)}</small>"
            f"</td><td>{html.escape(observed)}</td>"
            f"<td><details><summary>kwargs</summary><pre>{html.escape(kwargs)}</pre></details>"
            "</td></tr>"
        )
    header = "<tr><th>verdict</th><th>severity</th><th>check</th><th>observed</th><th></th></tr>"
    title = f"{html.escape(validation.suite)} <small>on {html.escape(validation.table)}</small>"
    parameters = ", ".join(
        f"{k} = {v}" for k, v in validation.gx_result["suite_parameters"].items()
    )
    scope = ""
    if validation.new_rows is not None:
        scope = f"; row-level checks on {validation.new_rows.describe()}, the others on every row"
    return (
        f"<h2>{title}</h2>\n<p><small>run parameters: {html.escape(parameters or 'none')}"
        f"{html.escape(scope)}</small></p>\n<table>{header}\n" + "\n".join(rows) + "</table>"
    )


def _examples(gx_result: Mapping[str, Any]) -> dict[str, str]:
    """Expectation id -> a few of the unexpected values GX kept (internal pages only)."""
    examples = {}
    for result in gx_result.get("results", []):
        values = (result.get("result") or {}).get("partial_unexpected_list")
        if values:
            examples[result["expectation_config"]["id"]] = json.dumps(values[:5], default=str)
    return examples


def _index_page(settings: Settings) -> str:
    rows = []
    quality = settings.internal_dir / "quality"
    summaries = sorted(quality.glob("*/summary.json"), reverse=True) if quality.is_dir() else []
    for path in summaries:
        summary = json.loads(path.read_text(encoding="utf-8"))
        run_id = html.escape(summary["run_id"])
        css, text = ("failed", "blocked") if summary["blocks_publication"] else ("passed", "ok")
        rows.append(
            f'<tr><td><a href="runs/{run_id}.html">{run_id}</a></td>'
            f'<td class="{css}">{text}</td><td>{html.escape(summary["summary"])}</td></tr>'
        )
    header = "<tr><th>run</th><th>gate</th><th>checks</th></tr>"
    return _html_page("Quality runs", f"<table>{header}\n" + "\n".join(rows) + "</table>")
