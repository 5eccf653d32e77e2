"""The one protection pass: which respondent counts every mart publishes.

Reads every cell (int_disclosure_cells) and how the cells add up (int_disclosure_relations),
and decides once, over all tables together, which cells are published: primary
suppression below k, complementary suppression over every relation to a fixpoint, then an
attacker's LP check with repair (flows.transform.protection). Every mart joins its
verdicts from here by cell_id.
"""

import pandas as pd

from flows.transform.protection import cells_of, protect, relations_of


def model(dbt, session):
    dbt.config(materialized="table")
    k = int(dbt.config.get("k"))
    cells = dbt.ref("int_disclosure_cells").df()
    relations = dbt.ref("int_disclosure_relations").df()
    known = set(cells["cell_id"])
    dangling = sorted(set(relations["cell_id"]) - known)
    if dangling:
        raise ValueError(f"relations name cells that do not exist: {dangling[:5]}")
    verdicts = protect(cells_of(cells), relations_of(relations), k)
    cells["verdict"] = [
        verdicts[cell_id] if publishable or table is None or pd.isna(table) else "empty"
        for cell_id, publishable, table in zip(
            cells["cell_id"], cells["publishable"], cells["table_name"], strict=True
        )
    ]
    return cells[["cell_id", "kind", "table_name", "respondents", "verdict"]]
