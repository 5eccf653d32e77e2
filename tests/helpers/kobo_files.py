"""Hand-built Kobo exports for tests, written straight from the contract's wording so the
warehouse is tested against more than the sample generator's output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl

DIRECT_IDENTIFIERS = {
    "deviceid": "collect:SECRETDEVICE42",
    "profile/respondent_name": "Khamphone Secretname",
    "profile/phone": "+856 20 5555 0142",
    "origin/origin_village": "Ban Secretvillage",
    "gps": "21.1801 101.3402 612.0 5.0",
    "_gps_latitude": "21.1801",
    "_gps_longitude": "101.3402",
    "_gps_altitude": "612.0",
    "_gps_precision": "5.0",
}


def submission(uuid: str | None, **answers: str) -> dict[str, str]:
    """One consenting outflow interview at Boten, overridable per column (group paths)."""
    row = {
        "start": "2026-03-04T08:15:02.120+07:00",
        "end": "2026-03-04T08:41:10.004+07:00",
        "today": "2026-03-04",
        "intro/fmp": "LAO_FMP_001",
        "intro/enumerator_id": "ENUM07",
        "intro/direction": "outflow",
        "intro/consent": "yes",
        "profile/sex": "female",
        "profile/age": "27",
        "profile/nationality": "LAO",
        "origin/origin_adm1": "LA-LM",
        "origin/origin_adm2": "LA0301",
        "journey/dest_country": "CHN",
        "journey/reason": "economic",
        "journey/transport": "bus train",
        "journey/cost_paid_by": "savings loan",
        "journey/debt_lak": "3000000",
        "work/sector_destination": "agriculture",
        "work/expected_income": "3500",
        "work/expected_income_currency": "CNY",
        "_id": "1001",
        "_uuid": uuid or "",
        "_submission_time": "2026-03-04T03:00:00",
        "_validation_status": "validation_status_approved",
        "_status": "submitted_via_web",
        "__version__": "vAbc123",
        "_index": "1",
        "meta/instanceID": f"uuid:{uuid}" if uuid else "",
        **DIRECT_IDENTIFIERS,
    }
    row.update(answers)
    return row


def refusal(uuid: str, **answers: str) -> dict[str, str]:
    row = {
        key: value
        for key, value in submission(uuid).items()
        if not key.startswith(("profile/", "origin/", "journey/", "work/"))
    }
    row["intro/consent"] = "no"
    row.update(answers)
    return row


def _header(rows: list[dict[str, str]]) -> list[str]:
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    return header


def write_csv(
    path: Path, rows: list[dict[str, str]], delimiter: str = ";", bom: bool = True
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = _header(rows)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = _header(rows)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h) or None for h in header])
    workbook.save(path)
    return path


def write_kobo_json(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for row in rows:
        record: dict[str, object] = {k: v for k, v in row.items() if v != ""}
        status = row.get("_validation_status", "")
        record["_validation_status"] = {"uid": status, "label": status} if status else {}
        if "_id" in record:
            record["_id"] = int(str(record["_id"]))
        record["_notes"] = []
        record["_tags"] = []
        record["_geolocation"] = [21.1801, 101.3402]
        results.append(record)
    document = {"count": len(results), "next": None, "previous": None, "results": results}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path
