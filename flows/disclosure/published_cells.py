"""What the published database tells a reader about respondent counts, as a linear system.

Read from the published file alone: the marts' count cells, the measures published beside
them, the dim_* reference marts for the hierarchies (month -> quarter), and ops.file_loads.
Each table is read if it is there; a table or column a publication drops is skipped, and a
relation that needs it is not added.

What each count counts (dbt_project/models/marts/*): every survey mart counts the same
population, consenting, not-rejected final interviews (core.fct_fms_interviews), except
fms_refusals_monthly, which counts people approached (refusers included; not rejected, final
versions) and fms_income_uplift, which counts the subset who gave both incomes. The relations
a reader can derive, all added here:

- within a table: female <= respondents; document holders <= respondents; the categories of
  one indicator / breakdown add up to the corridor / area total; a published share ties its
  count to its base (count = share x base, within the share's rounding);
- fms_safe_migration_quarterly corridor (quarter) = sum of fms_corridor_monthly over the
  quarter's months;
- fms_origin_profile_quarterly: the areas of a province (its districts and the
  no-district row) add up to the province's corridor cells of that quarter, and so do
  their `sex = female` rows to the corridor cells' female respondents;
- story_coverage province = sum of the province's corridor cells over all months;
- crossing_point_monthly: its points of one month x direction add up to the corridor cells
  of that month x direction; its document holders of a quarter x direction add up to the
  safe-migration `holds_* = yes` cells of that quarter x direction;
- fms_refusals_monthly: people approached = refusals + crossing_point_monthly respondents of
  the same month x point x direction (the consenting remainder); `suppressed = false` says
  people approached >= k;
- fms_income_uplift: each cell is at most the respondents of its corridor and sector at
  destination, an unpublished count (latent) whose margins are published: over sectors, the
  corridor's months in fms_corridor_monthly; over corridors of a province, the
  sector_destination rows of fms_origin_profile_quarterly;
- ops.file_loads and ops.runs: the survey rows loaded (of fms files in ops.file_loads; every
  source's rows per run in ops.runs, less the other sources' rows where ops.file_loads
  gives them; only where ops.file_loads gives no survey rows, since a killed run may not
  have recorded its counts) bound everyone approached from above. Only that
  total: a file's or a run's rows mix refusals, rejected, edited and repeated submissions
  of any month and place, so none is tied to a cell. ops.quality_results' observed texts
  are the checks' verdicts, which hold figures only when a check fails (and a failed
  critical check is never published).

Not used, because they are not relations between counts: the registry's head counts (people
counted at a point are not the survey's respondents), story counts, and the `suppressed` flag
of a suppressed cell (that a cell is hidden says nothing a reader can add up; what the rule
says about hidden cells is what protection must make uninformative, not an audit input).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import duckdb

from flows.disclosure.system import Key, LinearSystem

CORRIDOR = "marts.fms_corridor_monthly"
SAFE = "marts.fms_safe_migration_quarterly"
ORIGIN = "marts.fms_origin_profile_quarterly"
STORIES = "marts.story_coverage"
CROSSING = "marts.crossing_point_monthly"
REFUSALS = "marts.fms_refusals_monthly"
UPLIFT = "marts.fms_income_uplift"
FILE_LOADS = "ops.file_loads"
RUNS = "ops.runs"

# Tables that hold a row only for a combination with at least one person behind it: a present
# row tells the reader its count is at least 1. (A table that publishes a full grid of
# combinations, zeros included, says nothing by a row's presence: drop it from here.)
ROWS_ONLY_WHERE_NONEMPTY = {CORRIDOR, SAFE, ORIGIN, REFUSALS, UPLIFT}
# crossing_point_monthly has a row for every month x point x direction the registry or the
# survey saw: only a row without a registry count is there because of respondents.

DOCUMENTS = ("passport", "border_pass", "work_permit")

# Measures published beside counts: (table, measure, the counts it is computed over).
# A measure is a published number about the people of its counts; it must be NULL whenever
# one of them is suppressed or below k.
MEASURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (SAFE, "share", ("respondents", "corridor_respondents")),
    (SAFE, "median_debt_lak", ("respondents", "corridor_respondents")),
    (ORIGIN, "share", ("respondents", "area_respondents")),
    *(
        (CROSSING, f"share_{document}", (f"{document}_holders", "respondents"))
        for document in DOCUMENTS
    ),
    (REFUSALS, "refusal_share", ("refusals", "people_approached")),
    *(
        (UPLIFT, measure, ("respondents",))
        for measure in (
            "median_income_before_lak",
            "median_income_destination_lak",
            "median_income_before_usd",
            "median_income_destination_usd",
            "income_ratio",
        )
    ),
)

# How far a published share may be from count / base: doubles are exact to rounding error,
# refusal_share is rounded to 4 decimals.
SHARE_TOLERANCE = {"refusal_share": 0.5e-4 + 1e-12}
DEFAULT_SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class MeasureFinding:
    """A published measure over a suppressed count or fewer than k people."""

    table: str
    measure: str
    key: Key
    reason: str

    def describe(self) -> str:
        key = ", ".join("NULL" if part is None else str(part) for part in self.key)
        return f"{self.table}.{self.measure}[{key}]: {self.reason}"


@dataclass
class PublishedCells:
    """The system and what the readers found, with each table's cells by key."""

    k: int
    system: LinearSystem = field(default_factory=LinearSystem)
    measure_findings: list[MeasureFinding] = field(default_factory=list)
    tables_read: list[str] = field(default_factory=list)
    quarter_of: dict[date, date] = field(default_factory=dict)


def read_published_cells(connection: duckdb.DuckDBPyConnection, k: int) -> PublishedCells:
    """Every count cell and every relation a reader of this database can derive."""
    cells = PublishedCells(k)
    cells.quarter_of = _quarters(connection)
    corridor = _read_corridor(connection, cells)
    safe = _read_partitioned(
        connection,
        cells,
        SAFE,
        ("quarter", "direction", "origin_adm1_code", "dest_country_iso3"),
        "corridor_respondents",
        "indicator",
    )
    origin = _read_partitioned(
        connection,
        cells,
        ORIGIN,
        ("quarter", "origin_adm1_code", "origin_adm2_code"),
        "area_respondents",
        "breakdown",
    )
    stories = _read_story_coverage(connection, cells)
    crossing = _read_crossing(connection, cells)
    refusals = _read_refusals(connection, cells, crossing)
    uplift = _read_uplift(connection, cells)
    for table, measure, counts in MEASURES:
        _check_measure(connection, cells, table, measure, counts)
    if corridor:
        _link_corridor(cells, corridor, safe, origin, stories, crossing)
    if crossing and safe:
        _link_documents(cells, crossing, safe)
    if uplift and corridor and origin:
        _link_uplift(cells, uplift, corridor, origin)
    _link_file_loads(connection, cells, corridor, refusals)
    return cells


# --- reading tables ---------------------------------------------------------------------------


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    rows = connection.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return {column for (column,) in rows}


def _rows(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells, table: str, wanted: list[str]
) -> list[tuple] | None:
    """The wanted columns of every row (absent columns read as NULL); None: no such table."""
    present = _columns(connection, table)
    if not present:
        return None
    cells.tables_read.append(table)
    select = ", ".join(f'"{c}"' if c in present else "NULL" for c in wanted)
    return connection.execute(f"SELECT {select} FROM {table}").fetchall()


def _quarters(connection: duckdb.DuckDBPyConnection) -> dict[date, date]:
    if {"month", "quarter"} <= _columns(connection, "marts.dim_months"):
        rows = connection.execute("SELECT month, quarter FROM marts.dim_months").fetchall()
        return dict(rows)
    return {}


def _quarter(cells: PublishedCells, month: date) -> date:
    quarter = cells.quarter_of.get(month)
    if quarter is None:
        quarter = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        cells.quarter_of[month] = quarter
    return quarter


def _lower(table: str) -> float:
    return 1.0 if table in ROWS_ONLY_WHERE_NONEMPTY else 0.0


def _read_corridor(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells
) -> dict[Key, tuple[int, int | None]]:
    """(month, direction, origin, destination) -> (respondents, female_respondents)."""
    keys = ["month", "direction", "origin_adm1_code", "dest_country_iso3"]
    rows = _rows(connection, cells, CORRIDOR, [*keys, "respondents", "female_respondents"])
    has_female = "female_respondents" in _columns(connection, CORRIDOR)
    system = cells.system
    found: dict[Key, tuple[int, int | None]] = {}
    for *key_parts, respondents, female in rows or []:
        key = tuple(key_parts)
        total = system.add_cell(
            CORRIDOR, "respondents", key, respondents, _lower(CORRIDOR), population=True
        )
        part = None
        if has_female:
            part = system.add_cell(CORRIDOR, "female_respondents", key, female, part_of=total)
            system.at_most([part], [total], "female_respondents <= respondents")
        found[key] = (total, part)
    return found


@dataclass
class Partitioned:
    """A long table of categories that partition a total: totals and category cells."""

    totals: dict[Key, int] = field(default_factory=dict)
    categories: dict[tuple[Key, str], dict[str, int]] = field(default_factory=dict)


def _read_partitioned(
    connection: duckdb.DuckDBPyConnection,
    cells: PublishedCells,
    table: str,
    keys: tuple[str, ...],
    total_column: str,
    split_column: str,
) -> Partitioned | None:
    wanted = [*keys, split_column, "category", total_column, "respondents", "share"]
    rows = _rows(connection, cells, table, wanted)
    if rows is None:
        return None
    system = cells.system
    found = Partitioned()
    shares: list[tuple[int, int, float]] = []
    width = len(keys)
    for row in rows:
        key = tuple(row[:width])
        split, category, total, respondents, share = row[width:]
        total_index = system.add_cell(
            table, total_column, key, total, _lower(table), population=True
        )
        found.totals[key] = total_index
        index = system.add_cell(
            table, "respondents", (*key, split, category), respondents, part_of=total_index
        )
        found.categories.setdefault((key, split), {})[category] = index
        if share is not None:
            shares.append((index, total_index, float(share)))
    for (key, split), members in found.categories.items():
        system.equal(
            members.values(), [found.totals[key]], f"{table}: the {split} categories add up"
        )
    for count, base, share in shares:
        _share_relation(cells, table, "share", count, base, share)
    return found


def _share_relation(
    cells: PublishedCells, table: str, measure: str, count: int, base: int, share: float
) -> None:
    """count = share x base, within the share's rounding; nothing to add when both are known."""
    system = cells.system
    if not (system.cells[count].suppressed or system.cells[base].suppressed):
        return
    tolerance = SHARE_TOLERANCE.get(measure, DEFAULT_SHARE_TOLERANCE)
    why = f"{table}.{measure} = count / base"
    system.add({count: 1.0, base: -(share + tolerance)}, -float("inf"), 0.0, why)
    system.add({count: 1.0, base: -(share - tolerance)}, 0.0, float("inf"), why)


def _read_story_coverage(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells
) -> dict[Key, int] | None:
    rows = _rows(connection, cells, STORIES, ["adm1_code", "respondents"])
    if rows is None:
        return None
    # one row per Lao province, respondents or not: a row's presence says nothing
    return {
        (adm1,): cells.system.add_cell(
            STORIES, "respondents", (adm1,), respondents, population=True
        )
        for adm1, respondents in rows
    }


def _read_crossing(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells
) -> dict[Key, dict[str, int]] | None:
    """(month, point, direction) -> {respondents, <document>_holders: variable}."""
    holders = [f"{document}_holders" for document in DOCUMENTS]
    shares = [f"share_{document}" for document in DOCUMENTS]
    wanted = ["month", "fmp_code", "direction", "registry_individuals", "respondents"]
    rows = _rows(connection, cells, CROSSING, [*wanted, *holders, *shares])
    if rows is None:
        return None
    present = _columns(connection, CROSSING)
    system = cells.system
    found: dict[Key, dict[str, int]] = {}
    for row in rows:
        key, registry, respondents = tuple(row[:3]), row[3], row[4]
        lower = 1.0 if registry is None else 0.0  # a survey-only row has respondents
        total = system.add_cell(CROSSING, "respondents", key, respondents, lower, population=True)
        found[key] = {"respondents": total}
        for position, document in enumerate(DOCUMENTS):
            column = f"{document}_holders"
            if column not in present:
                continue
            part = system.add_cell(CROSSING, column, key, row[5 + position], part_of=total)
            system.at_most([part], [total], f"{column} <= respondents")
            found[key][column] = part
            share = row[5 + len(DOCUMENTS) + position]
            if share is not None:
                _share_relation(cells, CROSSING, f"share_{document}", part, total, float(share))
    return found


def _read_refusals(
    connection: duckdb.DuckDBPyConnection,
    cells: PublishedCells,
    crossing: dict[Key, dict[str, int]] | None,
) -> dict[Key, tuple[int, int]] | None:
    """(month, point, direction) -> (people_approached, refusals)."""
    wanted = ["month", "fmp_code", "direction", "people_approached", "refusals"]
    rows = _rows(connection, cells, REFUSALS, [*wanted, "refusal_share", "suppressed"])
    if rows is None:
        return None
    system = cells.system
    found: dict[Key, tuple[int, int]] = {}
    for *key_parts, approached, refused, share, flagged in rows:
        key = tuple(key_parts)
        # `suppressed` is documented as people_approached < k, published even when the counts
        # are not: false says people_approached >= k.
        lower = float(cells.k) if flagged is False else _lower(REFUSALS)
        total = system.add_cell(
            REFUSALS, "people_approached", key, approached, lower, population=True
        )
        part = system.add_cell(REFUSALS, "refusals", key, refused, part_of=total)
        if crossing is None:
            system.at_most([part], [total], "refusals <= people_approached")
        else:
            # no crossing row: nobody consented there, so everyone approached refused
            consenting = [crossing[key]["respondents"]] if key in crossing else []
            system.equal(
                [total],
                [part, *consenting],
                "people_approached = refusals + crossing_point_monthly respondents",
            )
        if share is not None:
            _share_relation(cells, REFUSALS, "refusal_share", part, total, float(share))
        found[key] = (total, part)
    return found


def _read_uplift(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells
) -> dict[Key, int] | None:
    """(direction, origin, destination, sector_destination) -> respondents."""
    keys = ["direction", "origin_adm1_code", "dest_country_iso3", "sector_destination"]
    rows = _rows(connection, cells, UPLIFT, [*keys, "respondents"])
    if rows is None:
        return None
    return {
        tuple(key): cells.system.add_cell(
            UPLIFT, "respondents", tuple(key), value, _lower(UPLIFT), population=True
        )
        for *key, value in rows
    }


def _check_measure(
    connection: duckdb.DuckDBPyConnection,
    cells: PublishedCells,
    table: str,
    measure: str,
    counts: tuple[str, ...],
) -> None:
    """Rows where `measure` is published although one of its counts is NULL or below k."""
    present = _columns(connection, table)
    if measure not in present:
        return
    counts = tuple(c for c in counts if c in present)
    keys = [c for c in _key_columns(table) if c in present]
    if not counts or not keys:
        return
    condition = " OR ".join(f'"{c}" IS NULL OR "{c}" < {int(cells.k)}' for c in counts)
    rows = connection.execute(
        f'SELECT {", ".join(keys)} FROM {table} WHERE "{measure}" IS NOT NULL AND ({condition})'
    ).fetchall()
    reason = f"published over a count that is suppressed or below k ({', '.join(counts)})"
    cells.measure_findings += [MeasureFinding(table, measure, tuple(r), reason) for r in rows]


def _key_columns(table: str) -> tuple[str, ...]:
    return {
        SAFE: (
            "quarter",
            "direction",
            "origin_adm1_code",
            "dest_country_iso3",
            "indicator",
            "category",
        ),
        ORIGIN: ("quarter", "origin_adm1_code", "origin_adm2_code", "breakdown", "category"),
        CROSSING: ("month", "fmp_code", "direction"),
        REFUSALS: ("month", "fmp_code", "direction"),
        UPLIFT: ("direction", "origin_adm1_code", "dest_country_iso3", "sector_destination"),
    }.get(table, ())


# --- relations across tables ------------------------------------------------------------------


def _group(pairs: Iterable[tuple[Key, int]]) -> dict[Key, list[int]]:
    groups: dict[Key, list[int]] = defaultdict(list)
    for key, index in pairs:
        groups[key].append(index)
    return groups


def _equal_groups(
    cells: PublishedCells,
    left: dict[Key, list[int]],
    right: dict[Key, list[int]],
    why: str,
) -> None:
    """sum(left[key]) == sum(right[key]) for every key of either; a missing side is 0."""
    for key in left.keys() | right.keys():
        cells.system.equal(left.get(key, []), right.get(key, []), why)


def _link_corridor(
    cells: PublishedCells,
    corridor: dict[Key, tuple[int, int | None]],
    safe: Partitioned | None,
    origin: Partitioned | None,
    stories: dict[Key, int] | None,
    crossing: dict[Key, dict[str, int]] | None,
) -> None:
    """The tables that share fms_corridor_monthly's margins."""
    if safe is not None:
        by_quarter = _group(
            ((_quarter(cells, m), d, a, c), r) for (m, d, a, c), (r, _) in corridor.items()
        )
        _equal_groups(
            cells,
            {key: [index] for key, index in safe.totals.items()},
            by_quarter,
            "safe-migration corridor = its months in fms_corridor_monthly",
        )
    if origin is not None:
        province_quarter = _group(
            ((_quarter(cells, m), a), r) for (m, _, a, _), (r, _) in corridor.items()
        )
        areas = _group(((q, a), index) for (q, a, _), index in origin.totals.items())
        _equal_groups(
            cells, areas, province_quarter, "origin areas of a province = its corridor cells"
        )
        female_cells = [((_quarter(cells, m), a), f) for (m, _, a, _), (_, f) in corridor.items()]
        if all(f is not None for _, f in female_cells):
            females = _group(
                ((q, a), members["female"])
                for ((q, a, _), split), members in origin.categories.items()
                if split == "sex" and "female" in members
            )
            if females:
                _equal_groups(
                    cells,
                    females,
                    _group(female_cells),  # type: ignore[arg-type]
                    "origin-profile women of a province = its corridor cells' women",
                )
    if stories is not None:
        by_province = _group(((a,), r) for (_, _, a, _), (r, _) in corridor.items())
        _equal_groups(
            cells,
            {key: [index] for key, index in stories.items()},
            by_province,
            "story_coverage respondents = the province's corridor cells",
        )
    if crossing is not None:
        by_month = _group(((m, d), r) for (m, d, _, _), (r, _) in corridor.items())
        points = _group(((m, d), v["respondents"]) for (m, _, d), v in crossing.items())
        _equal_groups(
            cells, points, by_month, "crossing points of a month x direction = its corridors"
        )


def _link_documents(
    cells: PublishedCells, crossing: dict[Key, dict[str, int]], safe: Partitioned
) -> None:
    for document in DOCUMENTS:
        column = f"{document}_holders"
        holders = _group(
            ((_quarter(cells, m), d), v[column]) for (m, _, d), v in crossing.items() if column in v
        )
        yes = _group(
            ((q, d), members["yes"])
            for ((q, d, _, _), split), members in safe.categories.items()
            if split == f"holds_{document}" and "yes" in members
        )
        if holders and yes:
            _equal_groups(
                cells, holders, yes, f"crossing {column} = safe-migration holds_{document} yes"
            )


def _link_uplift(
    cells: PublishedCells,
    uplift: dict[Key, int],
    corridor: dict[Key, tuple[int, int | None]],
    origin: Partitioned,
) -> None:
    """Each uplift cell <= a latent corridor x sector count whose two margins are published."""
    system = cells.system
    sectors: dict[str, list[int]] = defaultdict(list)  # province x sector -> origin cells
    for ((_, a, _), split), members in origin.categories.items():
        if split == "sector_destination":
            for sector, index in members.items():
                sectors[(a, sector)].append(index)  # type: ignore[index]
    if not sectors:
        return
    sector_names = sorted({sector for (_, sector) in sectors})
    corridors = _group(((d, a, c), r) for (_, d, a, c), (r, _) in corridor.items())
    latent_by_province: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (d, a, c), months in corridors.items():
        members = []
        for sector in sector_names:
            index = system.latent("corridor_sector_respondents", (d, a, c, sector))
            members.append(index)
            latent_by_province[(a, sector)].append(index)
            published = uplift.get((d, a, c, sector))
            if published is not None:
                system.at_most([published], [index], "income-uplift cell <= its corridor x sector")
        system.equal(members, months, "corridor x sector adds up to the corridor's months")
    for key in latent_by_province.keys() | sectors.keys():
        system.equal(
            latent_by_province.get(key, []),
            sectors.get(key, []),
            "corridor x sector of a province = its origin-profile sector_destination rows",
        )
    # an uplift cell outside every published corridor x sector would be a contradiction
    for (d, a, c, sector), published in uplift.items():
        if (d, a, c) not in corridors or sector not in sector_names:
            system.at_most([published], [], "income-uplift cell outside the published corridors")


def _link_file_loads(
    connection: duckdb.DuckDBPyConnection,
    cells: PublishedCells,
    corridor: dict[Key, tuple[int, int | None]],
    refusals: dict[Key, tuple[int, int]] | None,
) -> None:
    """Everyone approached <= the survey rows loaded, by the tightest total ops publishes."""
    bounds = _survey_rows_bounds(connection, cells)
    if not bounds:
        return
    bound, source = min(bounds)
    counted = (
        [approached for approached, _ in refusals.values()]
        if refusals
        else [respondents for respondents, _ in corridor.values()]
    )
    terms: dict[int, float] = {index: 1.0 for index in counted}
    cells.system.add(
        terms, -float("inf"), float(bound), f"everyone approached <= survey rows ({source})"
    )


def _survey_rows_bounds(
    connection: duckdb.DuckDBPyConnection, cells: PublishedCells
) -> list[tuple[int, str]]:
    """Upper bounds on the survey rows loaded that ops.* publishes, each with its source: a
    survey row is a submission of any status, so they bound everyone approached."""
    loads, runs = _columns(connection, FILE_LOADS), _columns(connection, RUNS)
    bounds: list[tuple[int, str]] = []
    other_sources = None
    if "source" in loads:
        cells.tables_read.append(FILE_LOADS)
        for column in ("rows_loaded", "rows_read"):
            if column in loads:
                (rows,) = connection.execute(
                    f"SELECT sum({column}) FROM {FILE_LOADS} WHERE source = 'fms'"
                ).fetchone()
                if rows is not None:  # NULL: nothing published
                    bounds.append((int(rows), f"{FILE_LOADS}.{column} of fms files"))
        if "rows_loaded" in loads:
            (other_sources,) = connection.execute(
                f"SELECT coalesce(sum(rows_loaded), 0) FROM {FILE_LOADS} WHERE source <> 'fms'"
            ).fetchone()
    # A run killed before it recorded its counts leaves its files' rows out of ops.runs: the
    # runs' total is read only where ops.file_loads publishes no survey rows.
    if "rows_loaded" in runs and not bounds:
        cells.tables_read.append(RUNS)
        # every source's rows; those of the other sources, where published, come off
        (rows,) = connection.execute(f"SELECT sum(rows_loaded) FROM {RUNS}").fetchone()
        if rows is not None:
            bounds.append((int(rows) - int(other_sources or 0), f"{RUNS}.rows_loaded"))
    return bounds
