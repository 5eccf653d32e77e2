"""Data Docs: Great Expectations' own site, built by GX from each run's validation results.

Every suite run of a refresh (the raw suites, the contract-table suites, the every-table suite
once per published table) is stored in GX's validation results store and rendered by GX's
site builder as a validation page; GX's index lists the runs, newest first, with filters. The
site lives in `<data-dir>/internal/data_docs/` (engineers only: the raw suites' pages show
unexpected raw values); GX's store of the results beside it, in `internal/quality/gx_store/`.

GX's templates load Bootstrap, jQuery, Font Awesome and more from CDNs, and GX's logo from
GX's servers with the context id in its address. These pages must work offline and send
nothing anywhere, so every page built is rewritten to load the same files from the site's
`static/vendor/` (the copies in data_docs_assets/, see SOURCES.md there). A page that would
still load anything from elsewhere is an error, not a silent fetch.

Built in the quality worker, which has GX imported; this module imports GX only inside the
functions that need it, so the refresh's own process can import it for the paths and the
DataDocs record.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.config import EXPECTATIONS_DIR, Settings
from flows.vega import vega_bundle

if TYPE_CHECKING:
    from flows.quality.gates import QualityReport
    from flows.quality.results import SuiteValidation

SITE_NAME = "fmw"
ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
# The index lists the newest suite runs (a refresh makes about 25); older pages stay on disk.
INDEX_LIMIT = 750

# What GX's templates load from elsewhere -> the copy under static/vendor/.
VENDORED = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/js/bootstrap.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js/umd/popper.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark/css/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
}
# GX loads these three as separate scripts; one bundle (flows/vega.py) defines all three.
VEGA_SCRIPTS = (
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
)
VEGA_BUNDLE = "vega/vega-bundle.js"
# GX's logos, from its servers (the navbar's with the data context id in the query string).
_GX_IMAGES = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
    r"(?P<name>[A-Za-z0-9_.-]+)(?:\?[^\"')\s]*)?"
)
_GX_LOCAL_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}

_TAG = re.compile(r"<(?P<tag>script|link|img)\b(?P<attrs>[^>]*)>(?P<close></script>)?", re.I)
_RESOURCE_ATTR = re.compile(r"""\b(?P<name>src|href)=(?P<q>["'])(?P<url>[^"']*)(?P=q)""", re.I)
_SRI_ATTRS = re.compile(r"""\s+(integrity|crossorigin)(=(["'])[^"']*\3)?""", re.I)
_CSS_URL = re.compile(r"""url\((?P<q>["']?)(?P<url>[^)"']*)(?P=q)\)""")
_EXTERNAL = re.compile(r"^(https?:)?//", re.I)
_OWN_STATIC = re.compile(r"^(?:\.\./)*static/(.+)$")


class DataDocsNotOffline(RuntimeError):
    """A Data Docs page would load something from the network."""


@dataclass(frozen=True)
class DataDocs:
    """Where a run's Data Docs are: GX's index of the runs, and this run's page per suite run
    (keyed like SuiteValidation.suite). `error` says why they could not be built: the gates'
    verdicts stand without them."""

    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    error: str | None = None


def data_docs_dir(settings: Settings) -> Path:
    return settings.internal_dir / "data_docs"


def data_docs_index(settings: Settings) -> Path:
    """GX's index of the runs: where a refresh points to its Data Docs, built or not."""
    return data_docs_dir(settings) / "index.html"


def gx_store_dir(settings: Settings) -> Path:
    """GX's validation results store: every run's results, kept by GX's own keys."""
    return settings.internal_dir / "quality" / "gx_store"


def build_data_docs(settings: Settings, run_id: str, report: QualityReport) -> DataDocs:
    """Store the run's validation results in GX's store and let GX build their pages and
    the index; then make every page built offline."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    site = data_docs_dir(settings)
    context = _context(settings)
    run_time = _run_time(run_id)
    keys: dict[str, Any] = {}
    for validation in report.validations:
        key = _result_key(validation, run_id, run_time)
        context.validation_results_store.set(key, gx_validation_result(validation, run_id))
        keys[validation.suite] = key
    suite_keys = []
    for suite in _suites(report):
        context.suites.add(suite)
        suite_keys.append(ExpectationSuiteIdentifier(suite.name))
    context.build_data_docs(
        site_names=[SITE_NAME], resource_identifiers=[*keys.values(), *suite_keys]
    )
    index = data_docs_index(settings)
    if "validation" not in index.read_text(encoding="utf-8"):
        raise RuntimeError(f"GX wrote an empty Data Docs index ({index}); see the log above")
    pages = {suite: _page(context, key) for suite, key in keys.items()}
    _install_assets(site, settings)
    built = [index, *pages.values(), *(_page(context, key) for key in suite_keys)]
    for page in built:
        make_offline(page, site)
    return DataDocs(index=index, pages=pages)


def gx_validation_result(validation: SuiteValidation, run_id: str) -> Any:
    """The suite run as GX's ExpectationSuiteValidationResult.

    GX names the suite without the table an every-table suite ran on (the table is the
    batch: "published_table" on marts.story_coverage); what the project adds to GX's result
    (which rows the row-level checks saw, the parts a split run had) goes to its meta.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    result = dict(validation.gx_result)
    meta = dict(result.get("meta") or {})
    meta["fmw"] = {
        "run_id": run_id,
        "table": validation.table,
        **{k: result[k] for k in ("row_level_checks_on", "parts") if k in result},
    }
    return ExpectationSuiteValidationResult(
        success=bool(result.get("success")),
        results=[ExpectationValidationResult(**r) for r in result.get("results", [])],
        suite_name=_gx_suite_name(validation),
        suite_parameters=result.get("suite_parameters") or {},
        statistics=result.get("statistics") or {},
        meta=meta,
    )


def _gx_suite_name(validation: SuiteValidation) -> str:
    return validation.suite.split(":", 1)[0]


def _context(settings: Settings) -> Any:
    """An ephemeral GX context whose validation results store and Data Docs site are folders
    of the data directory (expectation suites stay in memory: they are read from the
    project's expectations/ each run)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(gx_store_dir(settings)),
        },
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir(settings)),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": INDEX_LIMIT,
                },
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _suites(report: QualityReport) -> list[Any]:
    """The expectation suites the run validated with, for their own pages in the site."""
    from flows.quality.gx_duckdb import load_suite

    names = dict.fromkeys(_gx_suite_name(v) for v in report.validations)
    return [load_suite(name, EXPECTATIONS_DIR) for name in names]


def _result_key(validation: SuiteValidation, run_id: str, run_time: datetime) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(_gx_suite_name(validation)),
        run_id=RunIdentifier(run_name=run_id, run_time=run_time),
        batch_identifier=validation.table,
    )


def _run_time(run_id: str) -> datetime:
    """When the run started, from its id (flows.ops.runs.new_run_id); now for any other id."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(UTC)


def _page(context: Any, key: Any) -> Path:
    (url,) = (
        site["site_url"]
        for site in context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
    )
    return Path(url.removeprefix("file://"))


def _install_assets(site: Path, settings: Settings) -> None:
    """The vendored files under static/vendor/, copied once per content."""
    vendor = site / "static" / "vendor"
    for source in ASSETS_DIR.rglob("*"):
        if source.is_file():
            target = vendor / source.relative_to(ASSETS_DIR)
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    bundle = vendor / VEGA_BUNDLE
    cached = vega_bundle(settings.internal_dir / "cache")
    if not bundle.is_file() or bundle.stat().st_size != cached.stat().st_size:
        bundle.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, bundle)


def make_offline(page: Path, site: Path) -> None:
    """Rewrite the page to load GX's CDN files from static/vendor/ and GX's logos from
    static/images/; raise DataDocsNotOffline if it would still load anything from elsewhere."""
    text = page.read_text(encoding="utf-8")
    static = Path(os.path.relpath(site / "static", page.parent)).as_posix()
    text = _rewrite_tags(text, static)
    text = _CSS_URL.sub(lambda m: f"url({m['q']}{_local(m['url'], static)}{m['q']})", text)
    leftovers = sorted(set(external_resources(text)))
    if leftovers:
        raise DataDocsNotOffline(f"{page}: would load {', '.join(leftovers)}")
    partial = page.with_name(f".{page.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, page)


def _rewrite_tags(text: str, static: str) -> str:
    vega_loaded = False

    def rewrite(match: re.Match[str]) -> str:
        nonlocal vega_loaded
        resource = _RESOURCE_ATTR.search(match["attrs"])
        if resource is None:
            return match[0]
        url = resource["url"]
        own = _OWN_STATIC.match(url)
        if own:  # GX's favicon link on validation pages climbs one folder too few
            return match[0].replace(resource[0], resource[0].replace(url, f"{static}/{own[1]}"))
        if not _EXTERNAL.match(url):
            return match[0]
        if url in VEGA_SCRIPTS:
            if vega_loaded:
                return ""  # the bundle, loaded once, defines all three libraries
            vega_loaded = True
            url = f"{static}/vendor/{VEGA_BUNDLE}"
        else:
            url = _local(url, static)
        attrs = _SRI_ATTRS.sub("", match["attrs"])  # file:// pages cannot fetch with CORS
        attrs = attrs.replace(
            resource[0], f"{resource['name']}={resource['q']}{url}{resource['q']}"
        )
        return f"<{match['tag']}{attrs}>{match['close'] or ''}"

    return _TAG.sub(rewrite, text)


def _local(url: str, static: str) -> str:
    if url in VENDORED:
        return f"{static}/vendor/{VENDORED[url]}"
    image = _GX_IMAGES.fullmatch(url)
    if image and image["name"] in _GX_LOCAL_IMAGES:
        return f"{static}/images/{_GX_LOCAL_IMAGES[image['name']]}"
    return url


def external_resources(html: str) -> list[str]:
    """The addresses outside the page's own folder that the page would load: scripts,
    stylesheets, images, CSS url()s. Links a reader may follow are not loads."""
    found = []
    for match in _TAG.finditer(html):
        resource = _RESOURCE_ATTR.search(match["attrs"])
        if resource and _EXTERNAL.match(resource["url"]):
            found.append(resource["url"])
    found += [m["url"] for m in _CSS_URL.finditer(html) if _EXTERNAL.match(m["url"])]
    return found
