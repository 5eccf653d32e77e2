"""A dbt-duckdb plugin that loads the lake's extensions from their wheels, by path.

dbt-duckdb's own `extensions:` list runs INSTALL before LOAD; this loads the files that
`pip` installed (flows.warehouse.lake.extension_path) and nothing else, before dbt-duckdb
attaches the lake (profiles.yml, target `lake`). Autoloading and autoinstalling are off in
that target's config_options.

A lake on S3 (httpfs among the extensions) also gets the S3 secret the flow's own connections
create (flows.warehouse.lake.s3_statements), from the environment of the process dbt runs in:
without it DuckDB writes to AWS's endpoint whatever FMW_LAKE_S3_ENDPOINT says. It is no dbt
var, since dbt logs its vars.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from flows.sql import quote_literal
from flows.warehouse.lake import extension_path, s3_secret_statements


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        names = str(plugin_config.get("extensions") or "")
        self.extensions = [name for name in names.split(",") if name]

    def configure_connection(self, conn: Any) -> None:
        for name in self.extensions:
            conn.execute(f"LOAD {quote_literal(str(extension_path(name)))}")
        if "httpfs" in self.extensions:
            for statement in s3_secret_statements():
                conn.execute(statement)
