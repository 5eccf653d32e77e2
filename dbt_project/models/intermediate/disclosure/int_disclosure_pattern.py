"""The one protection pass: which respondent counts every mart publishes.

Reads every cell (int_disclosure_cells) and how the cells add up (int_disclosure_relations),
and decides once, over all tables together, which cells are published: primary
suppression below k, complementary suppression over every relation to a fixpoint, then an
attacker's LP check with repair (flows.transform.protection). Every mart joins its
verdicts from here by cell_id.
"""

import pandas as pd

from flows.transform.protection import Cell, Relation, protect


def _cells(frame: pd.DataFrame) -> list[Cell]:
    return [
        Cell(
            cell_id=row.cell_id,
            value=int(row.respondents),
            publishable=bool(row.publishable),
            suppressible=bool(row.suppressible),
            min_value=int(row.min_value),
            follows=row.follows if isinstance(row.follows, str) else None,
            sensitive=bool(row.sensitive),
        )
        for row in frame.itertuples(index=False)
    ]


def _relations(frame: pd.DataFrame) -> list[Relation]:
    frame = frame.sort_values(
        ["relation_id", "is_parent", "cell_id"], ascending=[True, False, True]
    )
    relations = []
    ids = frame["relation_id"].to_numpy()
    cells = frame["cell_id"].to_numpy()
    parents = frame["is_parent"].to_numpy()
    start = 0
    while start < len(ids):
        end = start
        while end < len(ids) and ids[end] == ids[start]:
            end += 1
        if parents[start:end].sum() != 1:
            raise ValueError(f"relation {ids[start]!r} needs exactly one parent")
        relations.append(Relation(ids[start], cells[start], tuple(cells[start + 1 : end])))
        start = end
    return relations


def model(dbt, session):
    dbt.config(materialized="table")
    k = int(dbt.config.get("k"))
    cells = dbt.ref("int_disclosure_cells").df()
    relations = dbt.ref("int_disclosure_relations").df()
    known = set(cells["cell_id"])
    dangling = sorted(set(relations["cell_id"]) - known)
    if dangling:
        raise ValueError(f"relations name cells that do not exist: {dangling[:5]}")
    verdicts = protect(_cells(cells), _relations(relations), k)
    cells["verdict"] = [
        verdicts[cell_id] if publishable or table is None or pd.isna(table) else "empty"
        for cell_id, publishable, table in zip(
            cells["cell_id"], cells["publishable"], cells["table_name"], strict=True
        )
    ]
    return cells[["cell_id", "kind", "table_name", "respondents", "verdict"]]
