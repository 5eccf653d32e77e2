"""Kobo export files of the FMS: columns, formats (CSV, XLSX, API JSON) and writers."""

from __future__ import annotations

import csv
import json
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, TypedDict

import openpyxl

from flows.form.xlsform import META_COLUMNS, Form
from flows.sample.draws import _uuid4
from flows.sample.realism import (
    _STATUS_LABELS,
    KOBO_SYSTEM_COLUMNS,
    NEW_VERSION_COLUMN,
    NEW_VERSION_FROM,
)
from flows.sample.relevance import _answer_keys
from flows.sample.submissions import _Submission, _Version
from flows.sample.timeline import LAO_TZ, _lt, _utc_iso


def _needs_quotes(text: str) -> bool:
    """Would csv.writer quote some value of this text, whichever delimiter it uses?"""
    return '"' in text or ";" in text or "," in text or "\n" in text or "\r" in text


class _KoboColumns:
    """Every column any export may carry, and each submission version as one row of them.

    The row is internal (plain answers, then 0/1 columns, GPS parts, meta and system
    columns); each export picks its own columns from it, in its own order.
    """

    def __init__(self, form: Form) -> None:
        self.form = form
        fields = form.fields
        self.multi = [
            (f.name, f.path, form.choice_names(f.list_name or ""))
            for f in fields
            if f.type == "select_multiple"
        ]
        self.gps = next(f for f in fields if f.type == "geopoint")
        self.gps_parts = tuple(
            f"_{self.gps.name}_{part}"
            for part in ("latitude", "longitude", "altitude", "precision")
        )
        self._answers = itemgetter(*_answer_keys(form))
        names = [f.path for f in fields] + [NEW_VERSION_COLUMN]
        for _, path, options in self.multi:
            names += [f"{path}/{option}" for option in options]
        names += [*self.gps_parts, *META_COLUMNS, *KOBO_SYSTEM_COLUMNS]
        self.names = names
        self.index = {name: j for j, name in enumerate(names)}
        # select_multiple value -> its 0/1 columns; few distinct values, so worth keeping
        self._splits: list[dict[str, tuple[str, ...]]] = [{} for _ in self.multi]
        self.status_at = self.index["_validation_status"]
        self.row_index_at = self.index["_index"]
        self.uuid_at = self.index["_uuid"]

    def row(self, sub: _Submission, version: _Version) -> list[str]:
        if version.row is not None:
            return version.row
        answers = version.answers
        row = list(self._answers(answers))
        for (name, _, options), splits in zip(self.multi, self._splits, strict=True):
            value = answers[name]
            split = splits.get(value)
            if split is None:
                chosen = value.split()
                split = tuple(("1" if o in chosen else "0") if chosen else "" for o in options)
                splits[value] = split
            row += split
        gps = answers[self.gps.name]
        row += gps.split(" ") if gps else ("", "", "", "")
        missing_uuid = sub.bad is not None and sub.bad[0] == "missing_uuid"
        row += (
            f"uuid:{version.uuid}",
            f"uuid:{version.deprecated_uuid}" if version.deprecated_uuid else "",
            str(sub.kobo_id),
            "" if missing_uuid else version.uuid,
            _utc_iso(sub.submitted_at),
            "",  # _validation_status: per export
            "; ".join(version.notes),
            "submitted_via_web",
            sub.submitted_by,
            sub.form_version,
            ",".join(version.tags),
            "",  # _index: per export
        )
        version.row = row
        version.plain = not _needs_quotes("".join(row))
        return row

    def kobo_order(self, multi: str, new_version: bool) -> list[str]:
        """Kobo's own column order: form order, split columns after their question."""
        split = {path: options for _, path, options in self.multi}
        work_fields = [f.path for f in self.form.fields if f.path.startswith("work/")]
        columns: list[str] = []
        for f in self.form.fields:
            if f.path in split:
                if multi != "columns":
                    columns.append(f.path)
                if multi != "space":
                    columns += [f"{f.path}/{option}" for option in split[f.path]]
            else:
                columns.append(f.path)
            if f is self.gps:
                columns += self.gps_parts
            if new_version and work_fields and f.path == work_fields[-1]:
                columns.append(NEW_VERSION_COLUMN)
        return columns + [*META_COLUMNS, *KOBO_SYSTEM_COLUMNS]


# --------------------------------------------------------------------------- FMS exports


@dataclass(frozen=True)
class _FmsExport:
    name: str
    format: Literal["csv", "xlsx", "json"]
    exported_at: int
    arrives_at: int
    description: str
    delimiter: str = ","
    bom: bool = False
    quote_all: bool = False
    select_multiple: Literal["space", "columns", "both"] = "both"
    column_order: Literal["kobo", "system_first", "shuffled"] = "kobo"
    offices: tuple[str, ...] | None = None  # field offices (adm1 of their FMPs); None = all
    cap: int | None = None  # at most this many rows (the first ones)


def _kobo_export_name(form_id: str, t: int, ext: str) -> str:
    stamp = datetime.fromtimestamp(t, LAO_TZ).strftime("%Y-%m-%d-%H-%M-%S")
    return f"{form_id}_-_all_versions_-_False_-_{stamp}.{ext}"


def _fms_exports(form_id: str) -> tuple[_FmsExport, ...]:
    march, april, may, june = (
        _lt(2026, 4, 1, 9, 12, 3),
        _lt(2026, 5, 1, 8, 47, 55),
        _lt(2026, 6, 1, 8, 30, 12),
        _lt(2026, 7, 1, 8, 5, 27),
    )
    vientiane, api, luang_namtha = (
        _lt(2026, 5, 20, 14, 5, 41),
        _lt(2026, 6, 20, 10, 0, 0),
        _lt(2026, 2, 16, 16, 40, 9),
    )
    return (
        _FmsExport(
            _kobo_export_name(form_id, march, "csv"), "csv", march, march + 1200,
            "cumulative export to 31 March with Kobo's defaults (';', UTF-8 BOM); "
            "select_multiple as one space-separated column",
            delimiter=";", bom=True, quote_all=True, select_multiple="space",
        ),
        _FmsExport(
            _kobo_export_name(form_id, april, "csv"), "csv", april, april + 900,
            "cumulative export to 30 April: ',' without BOM, system columns first, "
            "select_multiple as one column and as 0/1 columns",
            column_order="system_first",
        ),
        _FmsExport(
            f"{form_id}_vientiane_office_2026-05-20.xlsx", "xlsx", vientiane,
            _lt(2026, 5, 21, 8, 40), "Vientiane field office's XLSX export of its own points",
            offices=("LA-VT",), cap=3000,
        ),
        _FmsExport(
            _kobo_export_name(form_id, may, "csv"), "csv", may, may + 900,
            "cumulative export to 31 May: ';' with BOM, columns shuffled, "
            "select_multiple as 0/1 columns only",
            delimiter=";", bom=True, quote_all=True, select_multiple="columns",
            column_order="shuffled",
        ),
        _FmsExport(
            f"{form_id}_api_v2_savannakhet_bokeo_2026-06-20.json", "json", api, api + 60,
            "Kobo API v2 data of the Savannakhet and Bokeo field offices",
            offices=("LA-SV", "LA-BK"), cap=2500,
        ),
        _FmsExport(
            _kobo_export_name(form_id, june, "csv"), "csv", june, june + 900,
            "cumulative export to 30 June: ',' without BOM, all fields quoted; carries the "
            f"newer form version's {NEW_VERSION_COLUMN}",
            quote_all=True,
        ),
        _FmsExport(
            f"{form_id}_luang_namtha_office_2026-02-16.csv", "csv", luang_namtha,
            _lt(2026, 7, 2, 10, 15),
            "Luang Namtha field office's export of 16 February, delivered last: it holds "
            "originals of submissions whose edits arrived months earlier",
            delimiter=";", bom=True, quote_all=True, offices=("LA-LM",),
        ),
    )  # fmt: skip


def _copy_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem} (1){dot}{ext}"


_COPY_ARRIVES = _lt(2026, 5, 1, 14, 20)  # the March export, downloaded again after April's


class BadRow(TypedDict):
    row: int
    column: str
    kind: str
    value: str


class _FmsWriter:
    """One FMS export being written: which submissions it takes, and their rows."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        self.spec = spec
        self.path = path
        self.columns = columns
        self.rows = 0
        self.bad_rows: list[BadRow] = []
        self.new_version = spec.exported_at >= NEW_VERSION_FROM
        self.header = self._header(columns)
        self.exported_at = spec.exported_at
        self.offices = spec.offices
        self.cap = spec.cap if spec.cap is not None else float("inf")

    def _header(self, columns: _KoboColumns) -> list[str]:
        spec = self.spec
        header = columns.kobo_order(spec.select_multiple, self.new_version)
        if spec.column_order == "system_first":
            system = [*KOBO_SYSTEM_COLUMNS, *META_COLUMNS]
            header = system + [c for c in header if c not in system]
        elif spec.column_order == "shuffled":
            random.Random(f"columns:{spec.name}").shuffle(header)
        return header

    def offer(self, sub: _Submission) -> None:
        exported_at = self.exported_at
        if sub.submitted_at > exported_at:
            return
        if self.offices is not None and sub.office not in self.offices:
            return
        if self.rows >= self.cap:
            return
        version = sub.version_at(exported_at)
        status = version.status_at(exported_at)
        self.rows += 1
        self.write(sub, version, self.columns.row(sub, version), status)
        if sub.bad is not None:
            kind, column, value = sub.bad
            self.bad_rows.append({"row": self.rows, "column": column, "kind": kind, "value": value})

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _CsvFmsWriter(_FmsWriter):
    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        encoding = "utf-8-sig" if spec.bom else "utf-8"
        self._file = path.open("w", encoding=encoding, newline="", buffering=1 << 20)
        quoting = csv.QUOTE_ALL if spec.quote_all else csv.QUOTE_MINIMAL
        self._csv = csv.writer(self._file, delimiter=spec.delimiter, quoting=quoting)
        self._csv.writerow(self.header)
        self._pick = itemgetter(*(columns.index[c] for c in self.header))
        # What csv.writer would write for a row without delimiters, quotes or line breaks,
        # joined directly: three times faster, and the writer's share of the run time.
        quote = '"' if spec.quote_all else ""
        self._open, self._between, self._close = quote, quote + spec.delimiter + quote, quote
        self._close += "\r\n"

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        row[self.columns.status_at] = status[1]
        row[self.columns.row_index_at] = str(self.rows)
        if version.plain:
            self._file.write(self._open + self._between.join(self._pick(row)) + self._close)
        else:
            self._csv.writerow(self._pick(row))

    def close(self) -> None:
        self._file.close()


class _XlsxFmsWriter(_FmsWriter):
    """Kobo's XLSX export: the same columns on the first sheet, numbers as numbers."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        form = columns.form
        integers = {f.path for f in form.fields if f.type == "integer"} | {"_id", "_index"}
        integers |= {f"{path}/{o}" for _, path, options in columns.multi for o in options}
        decimals = {f.path for f in form.fields if f.type == "decimal"} | set(columns.gps_parts)
        self._plan = [
            (columns.index[c], int if c in integers else float if c in decimals else None)
            for c in self.header
        ]
        self._book = openpyxl.Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=form.form_id)
        self._sheet.append(self.header)

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        row[self.columns.status_at] = status[1]
        row[self.columns.row_index_at] = str(self.rows)
        self._sheet.append([_xlsx_cell(row[j], kind) for j, kind in self._plan])

    def close(self) -> None:
        self._book.save(self.path)
        _freeze_xlsx(self.path, self.spec.exported_at)


def _xlsx_cell(value: str, kind: type | None) -> str | int | float | None:
    if value == "":
        return None
    if kind is None:
        return value
    try:
        return kind(value)
    except ValueError:
        return value  # a bad value stays as the text it was


def _freeze_xlsx(path: Path, t: int) -> None:
    """openpyxl stamps the save time into the file; replace it so the bytes are reproducible."""
    when = datetime.fromtimestamp(t, UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data
                )
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


class _JsonFmsWriter(_FmsWriter):
    """Kobo API v2 data: form values as strings, unanswered questions absent."""

    def __init__(self, spec: _FmsExport, path: Path, columns: _KoboColumns) -> None:
        super().__init__(spec, path, columns)
        splits = {f"{path}/{o}" for _, path, options in columns.multi for o in options}
        skipped = splits | set(columns.gps_parts) | set(KOBO_SYSTEM_COLUMNS)
        self._answers = [(c, columns.index[c]) for c in self.header if c not in skipped]
        self._results: list[dict[str, Any]] = []  # bounded by spec.cap
        self._formhub = _uuid4(random.Random(f"formhub:{columns.form.form_id}")).replace("-", "")

    def write(
        self, sub: _Submission, version: _Version, row: list[str], status: tuple[int, str]
    ) -> None:
        record: dict[str, Any] = {"_id": sub.kobo_id, "formhub/uuid": self._formhub}
        for key, j in self._answers:
            if row[j]:
                record[key] = row[j]
        if row[self.columns.uuid_at]:
            record["_uuid"] = row[self.columns.uuid_at]
        gps = version.answers[self.columns.gps.name]
        lat_lon = [float(x) for x in gps.split(" ")[:2]] if gps else [None, None]
        record.update(
            {
                "_submission_time": _utc_iso(sub.submitted_at),
                "_validation_status": self._status_object(sub, status),
                "_notes": list(version.notes),
                "_status": "submitted_via_web",
                "_submitted_by": sub.submitted_by,
                "__version__": sub.form_version,
                "_tags": list(version.tags),
                "_attachments": [],
                "_geolocation": lat_lon,
                "_xform_id_string": self.columns.form.form_id,
            }
        )
        self._results.append(record)

    @staticmethod
    def _status_object(sub: _Submission, status: tuple[int, str]) -> dict[str, Any]:
        since, code = status
        if not code:
            return {}
        label, color = _STATUS_LABELS[code]
        return {
            "timestamp": since + 5400,
            "uid": code,
            "by_whom": sub.supervisor,
            "label": label,
            "color": color,
        }

    def close(self) -> None:
        page = {"count": len(self._results), "next": None, "previous": None}
        page["results"] = self._results
        with self.path.open("w", encoding="utf-8") as handle:
            json.dump(page, handle, ensure_ascii=False, separators=(",", ":"))


_WRITERS: dict[str, type[_FmsWriter]] = {
    "csv": _CsvFmsWriter,
    "xlsx": _XlsxFmsWriter,
    "json": _JsonFmsWriter,
}
