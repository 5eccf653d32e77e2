"""Pull the new submissions of one KoboToolbox asset into `landing/fms/` as API JSON pages.

KoboToolbox's API v2 serves an asset's submissions at `<server>/api/v2/assets/<uid>/data/`
(token authentication: `Authorization: Token <token>`), one page at a time:
`{"count": N, "next": url or null, "previous": ..., "results": [...]}`. The landing zone stays
the interface: each page is written as the server sent it, as one file that ingest reads like
any Kobo JSON export (the contract's third format).

Incremental by `_id`: Kobo numbers submissions in the order it receives them, so a pull asks
for `_id` greater than the largest one it already wrote (`query={"_id": {"$gt": N}}`, sorted by
`_id`) and follows `next` to the end. The largest id is read from the names of the files it
wrote (`kobo_<uid>_<pull time>_id<first>-<last>.json`), so the pull keeps no state of its own
and one interrupted (killed, network down) resumes after its last complete page. A page is
written under a dot name (not a landing file), then renamed: ingest never sees half a page, and
no file is ever written twice. `_submission_time` is not used: it is not unique, so "after the
last one" would have to be ">=" and fetch again what is held.

Kobo keeps an edited submission's `_id` (the `_uuid` changes, `meta/deprecatedID` names the old
one), so an incremental pull does not see edits of submissions it already pulled; `full=True`
(`fmw pull kobo --full`) pulls every submission again, as a cumulative export would, and ingest
counts what it already holds as duplicates.

Transient failures (429, 5xx, connection errors, timeouts) are retried with exponential backoff,
honouring `Retry-After`; 401/403 and 404 are not: they say what to fix.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TOKEN_VARIABLE = "KOBO_TOKEN"
SERVER_VARIABLE = "KOBO_SERVER_URL"
ASSET_VARIABLE = "KOBO_ASSET_UID"
DEFAULT_PAGE_SIZE = 1000  # the API's largest page
_ASSET_UID = re.compile(r"[A-Za-z0-9]+")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class KoboPullError(RuntimeError):
    """The pull stopped; what it wrote before stays, and the next pull resumes after it."""


@dataclass(frozen=True)
class KoboSource:
    server: str  # https://kf.kobotoolbox.org
    asset_uid: str
    token: str = field(repr=False)

    @classmethod
    def from_environment(
        cls, server: str | None = None, asset_uid: str | None = None
    ) -> KoboSource:
        """Flags first, then KOBO_SERVER_URL / KOBO_ASSET_UID; the token only from KOBO_TOKEN
        (never a flag or a flow parameter: those end up in shell histories and run records)."""
        server = server or os.environ.get(SERVER_VARIABLE)
        asset_uid = asset_uid or os.environ.get(ASSET_VARIABLE)
        token = os.environ.get(TOKEN_VARIABLE)
        missing = [
            name
            for name, value in (
                (f"--server or {SERVER_VARIABLE}", server),
                (f"--asset or {ASSET_VARIABLE}", asset_uid),
                (TOKEN_VARIABLE, token),
            )
            if not value
        ]
        if missing:
            raise KoboPullError(f"set {', '.join(missing)} to pull from KoboToolbox")
        assert server and asset_uid and token
        return cls(server.rstrip("/"), asset_uid, token).checked()

    def checked(self) -> KoboSource:
        parts = urllib.parse.urlsplit(self.server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise KoboPullError(f"the server must be an http(s) URL, got {self.server!r}")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise KoboPullError(
                f"refusing to send the token in clear text to {parts.hostname}: use https://"
            )
        if not _ASSET_UID.fullmatch(self.asset_uid):
            raise KoboPullError(f"an asset uid is letters and digits, got {self.asset_uid!r}")
        return self

    def data_url(self, after_id: int | None, page_size: int) -> str:
        parameters = {"format": "json", "limit": str(page_size), "sort": '{"_id": 1}'}
        if after_id is not None:
            parameters["query"] = json.dumps({"_id": {"$gt": after_id}})
        query = urllib.parse.urlencode(parameters)
        return f"{self.server}/api/v2/assets/{self.asset_uid}/data/?{query}"

    def same_origin(self, url: str) -> bool:
        mine, theirs = urllib.parse.urlsplit(self.server), urllib.parse.urlsplit(url)
        return (mine.scheme, mine.hostname, mine.port) == (
            theirs.scheme,
            theirs.hostname,
            theirs.port,
        )


@dataclass(frozen=True)
class Retry:
    attempts: int = 6
    backoff_seconds: float = 1.0  # 1, 2, 4, 8, 16 s between the attempts
    max_wait_seconds: float = 60.0
    timeout_seconds: float = 60.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_wait_seconds)
        return min(self.backoff_seconds * 2**attempt, self.max_wait_seconds)


@dataclass
class PullSummary:
    files: list[Path] = field(default_factory=list)
    submissions: int = 0
    count: int | None = None  # what the server said there was to pull, on the first page
    after_id: int | None = None  # where the pull started
    last_id: int | None = None
    retries: int = 0

    def describe(self) -> str:
        start = "every submission" if self.after_id is None else f"_id after {self.after_id}"
        if not self.files:
            return f"no new submissions ({start})"
        text = (
            f"{self.submissions} submissions ({start}, up to {self.last_id}) in "
            f"{len(self.files)} page files"
        )
        if self.count is not None and self.count != self.submissions:
            text += f"; the server counted {self.count} when the pull started"
        return text + (f"; {self.retries} retries" if self.retries else "")


def pull_kobo(
    source: KoboSource,
    landing_dir: Path,
    *,
    full: bool = False,
    page_size: int = DEFAULT_PAGE_SIZE,
    retry: Retry = Retry(),  # noqa: B008 - frozen
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda message: None,
) -> PullSummary:
    """Pull what is new into `landing_dir/fms/`; see the module docstring."""
    folder = landing_dir / "fms"
    folder.mkdir(parents=True, exist_ok=True)
    with _pull_lock(folder, source.asset_uid):
        for leftover in folder.glob(f".kobo_{source.asset_uid}_*.partial"):
            leftover.unlink()  # a page a killed pull had not finished writing
        after = None if full else last_pulled_id(folder, source.asset_uid)
        summary = PullSummary(after_id=after)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        url: str | None = source.data_url(after, page_size)
        while url:
            body, retries = _get(url, source, retry, sleep)
            summary.retries += retries
            page = _page(body, url)
            if summary.count is None:
                summary.count = page.get("count")
            held = summary.last_id if summary.last_id is not None else after
            ids = _ids(page["results"], url, above=held)
            if ids:
                path = folder / page_file_name(source.asset_uid, stamp, ids[0], ids[-1])
                _write_new(path, body)
                summary.files.append(path)
                summary.submissions += len(ids)
                summary.last_id = ids[-1]
                progress(f"kobo pull: {summary.submissions} of {summary.count}: {path.name}")
            url = page.get("next")
            if url and not source.same_origin(url):
                raise KoboPullError(f"the server's next page is on another host: {url}")
    return summary


def page_file_name(asset_uid: str, stamp: str, first_id: int, last_id: int) -> str:
    return f"kobo_{asset_uid}_{stamp}_id{first_id:010d}-{last_id:010d}.json"


def last_pulled_id(folder: Path, asset_uid: str) -> int | None:
    """The largest `_id` of the pages this asset's pulls wrote into `folder`."""
    pattern = re.compile(rf"kobo_{re.escape(asset_uid)}_\d{{8}}T\d{{6}}Z_id\d+-(\d+)\.json")
    ids = [int(m[1]) for p in folder.iterdir() if (m := pattern.fullmatch(p.name))]
    return max(ids, default=None)


def _get(
    url: str, source: KoboSource, retry: Retry, sleep: Callable[[float], None]
) -> tuple[bytes, int]:
    """The body of a 200 answer, and how many retries it took."""
    request = urllib.request.Request(
        url, headers={"Authorization": f"Token {source.token}", "Accept": "application/json"}
    )
    last_error = ""
    for attempt in range(retry.attempts):
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout_seconds) as response:
                return response.read(), attempt
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                raise KoboPullError(
                    f"{source.server} refused the token ({error.code}): check {TOKEN_VARIABLE} "
                    f"and that its account can view the submissions of {source.asset_uid}"
                ) from error
            if error.code == 404:
                raise KoboPullError(
                    f"no asset {source.asset_uid} on {source.server} (404): check the asset uid"
                ) from error
            if error.code != 429 and error.code < 500:
                raise KoboPullError(f"{url}: HTTP {error.code} {error.reason}") from error
            retry_after = error.headers.get("Retry-After")
            last_error = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            last_error = str(getattr(error, "reason", error))
        if attempt + 1 < retry.attempts:
            sleep(retry.wait(attempt, retry_after))
    raise KoboPullError(f"{url}: gave up after {retry.attempts} attempts ({last_error})")


def _page(body: bytes, url: str) -> dict[str, Any]:
    try:
        page = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KoboPullError(f"{url}: not JSON: {error}") from error
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        raise KoboPullError(f"{url}: not a page of the data API: no 'results' list")
    return page


def _ids(results: list[Any], url: str, above: int | None) -> list[int]:
    """The page's `_id`s: integers, ascending, above every id already written by this pull
    (or held before it): anything else would break resuming by file name."""
    ids = []
    for position, result in enumerate(results, start=1):
        value = result.get("_id") if isinstance(result, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise KoboPullError(f"{url}: result {position} has no integer _id")
        if (ids and value <= ids[-1]) or (above is not None and value <= above):
            raise KoboPullError(f"{url}: _id {value} is not in ascending order after {above}")
        ids.append(value)
    return ids


def _write_new(path: Path, body: bytes) -> None:
    if path.exists():
        raise KoboPullError(f"{path} exists: a pull never rewrites a file")
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.link(partial, path)  # fails if the name appeared meanwhile: never replaces a file
    partial.unlink()


@contextmanager
def _pull_lock(folder: Path, asset_uid: str) -> Iterator[None]:
    with (folder / f".kobo_{asset_uid}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise KoboPullError(f"another pull of {asset_uid} into {folder} is running") from error
        yield
