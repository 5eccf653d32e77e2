"""The Vega, Vega-Lite and vega-embed JavaScript, for pages that must work offline.

vl-convert-python ships the three libraries; `javascript_bundle()` joins them into one classic
script (about 0.9 MB) that defines the globals `vega`, `vegaLite` and `vegaEmbed`. Building it
costs about 3 s of CPU, so it is kept on disk, one file per vl-convert version.
"""

from __future__ import annotations

import os
import tempfile
from importlib.metadata import version
from pathlib import Path


def vega_bundle(cache_dir: Path) -> Path:
    """The bundle's file in `cache_dir`, written there first if it is not yet."""
    path = cache_dir / f"vega-bundle-vl-convert-{version('vl-convert-python')}.js"
    if not path.is_file():
        import vl_convert

        cache_dir.mkdir(parents=True, exist_ok=True)
        # a temporary file of its own: publish and the quality worker's Data Docs, which run
        # side by side, may both be writing the bundle; each puts a whole one in place
        handle, partial = tempfile.mkstemp(
            dir=cache_dir, prefix=f".{path.name}.", suffix=".partial"
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(vl_convert.javascript_bundle())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return path
