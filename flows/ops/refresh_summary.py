"""What `fmw refresh` prints when it ends: one line per source, then every file that failed
and why, the quality verdict and where to look next. `verbose` adds a line per file."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flows.ingest.landing import SOURCES

_COUNTS = ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined")
_STATUS_WORDS = {"loaded": "loaded", "skipped_same_bytes": "same bytes as a loaded file"}


def summary_lines(outcome: Any, verbose: bool = False) -> list[str]:
    """The lines for a RefreshOutcome (flows.nightly), published or blocked."""
    lines = [f"run {outcome.run_id}: {outcome.status}"]
    if getattr(outcome, "kobo_pull", ""):
        lines.append(f"  kobo pull: {outcome.kobo_pull}")
    files: list[dict[str, Any]] = outcome.files
    if not files:
        lines.append("  no new landing files")
    for source in [s for s in SOURCES if any(f["source"] == s for f in files)]:
        lines.append("  " + source_line(source, [f for f in files if f["source"] == source]))
        if verbose:
            lines += [f"    {file_line(f)}" for f in files if f["source"] == source]
    failed = [f for f in files if f["status"] == "failed"]
    if failed:
        lines.append(f"  {len(failed)} failed {'file' if len(failed) == 1 else 'files'}:")
        lines += [f"    {f['source']}/{f['file_name']}: {f.get('reason')}" for f in failed]
    if outcome.quality:
        lines.append(f"  quality: {outcome.quality}")
    if outcome.stage_seconds:
        timings = ", ".join(f"{stage} {sec:.1f}s" for stage, sec in outcome.stage_seconds.items())
        lines.append(f"  stages: {timings}")
    if outcome.message:
        lines.append(f"  {outcome.message}")
    return lines


def source_line(source: str, files: list[dict[str, Any]]) -> str:
    """`fms: 8 files (7 loaded, 1 failed); rows read 20,147: loaded 5,007, ...`"""
    statuses = Counter(f["status"] for f in files)
    order = [*_STATUS_WORDS, *sorted(set(statuses) - set(_STATUS_WORDS))]  # failed last
    parts = [f"{statuses[s]} {_STATUS_WORDS.get(s, s)}" for s in order if statuses[s]]
    total = {c: sum(f["counts"][c] for f in files) for c in _COUNTS}
    return (
        f"{source}: {len(files)} {'file' if len(files) == 1 else 'files'} ({', '.join(parts)}); "
        f"rows read {total['rows_read']:,}: loaded {total['rows_loaded']:,}, "
        f"duplicate {total['rows_duplicate']:,}, quarantined {total['rows_quarantined']:,}"
    )


def file_line(item: dict[str, Any]) -> str:
    counts = item["counts"]
    line = (
        f"{item['source']}/{item['file_name']}: {item['status']}, read {counts['rows_read']}, "
        f"loaded {counts['rows_loaded']}, duplicate {counts['rows_duplicate']}, "
        f"quarantined {counts['rows_quarantined']}"
    )
    return line + (f" ({item['reason']})" if item.get("reason") else "")
