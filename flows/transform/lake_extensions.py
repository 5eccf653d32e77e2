"""A dbt-duckdb plugin that loads the lake's extensions from their wheels, by path.

dbt-duckdb's own `extensions:` list runs INSTALL before LOAD; this loads the files that
`pip` installed (flows.warehouse.lake.extension_path) and nothing else, before dbt-duckdb
attaches the lake (profiles.yml, target `lake`). Autoloading and autoinstalling are off in
that target's config_options.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from flows.sql import quote_literal
from flows.warehouse.lake import extension_path


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        names = str(plugin_config.get("extensions") or "")
        self.extensions = [name for name in names.split(",") if name]

    def configure_connection(self, conn: Any) -> None:
        for name in self.extensions:
            conn.execute(f"LOAD {quote_literal(str(extension_path(name)))}")
