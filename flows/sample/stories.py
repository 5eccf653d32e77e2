"""The stories folder: the hand-written stories shipped with the package."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flows.sample.timeline import _lt
from flows.sample.truth import BadStoryFile, FileRecord, StoryExpectation

STORIES_DIR = Path(str(resources.files("flows.sample") / "stories"))

# --------------------------------------------------------------------------- stories

# Where each story's residence.place must resolve. The match is how the most specific code is
# found: exact (an official name, generic words such as Province/District/Muang/ແຂວງ aside,
# spacing and accents ignored), alias (a known unofficial name or spelling), fuzzy (a
# misspelling) or unmatched. `accepted` lists what a sound gazetteer may equally report.
_STORY_RESIDENCE: dict[str, tuple[str | None, str | None, str, tuple[str, ...]]] = {
    "lao-2024-buakham": ("LA-LM", "LA0301", "alias", ("alias",)),
    "lao-2023-bounmy": ("LA-LM", "LA0302", "alias", ("alias", "exact")),
    "lao-2023-khamla": ("LA-OU", None, "alias", ("alias", "exact")),
    "lao-2023-yeng": ("LA-LM", None, "alias", ("alias", "exact", "fuzzy")),
    "lao-2024-noy": ("LA-VT", None, "exact", ("exact",)),
    "lao-2024-sengphet": ("LA-SV", None, "exact", ("exact",)),
    "lao-2024-phonsavanh": ("LA-SV", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2024-chanthala": (None, None, "unmatched", ("unmatched",)),
    "lao-2024-ayu": ("LA-LM", "LA0305", "exact", ("exact",)),
    "lao-2024-thongdy": ("LA-PH", "LA0205", "exact", ("exact",)),
    "lao-2024-vilayvanh": ("LA-OU", None, "exact", ("exact", "alias")),
    "lao-2024-pao": ("LA-XI", None, "exact", ("exact",)),
    "lao-2025-souksavanh": ("LA-VT", None, "exact", ("exact",)),
    "lao-2025-manivanh": ("LA-CH", None, "exact", ("exact",)),
    "lao-2025-kham": ("LA-LM", "LA0301", "alias", ("alias",)),
    "lao-2025-latsamy": ("LA-LM", "LA0302", "exact", ("exact", "alias")),
    "lao-2025-keo": ("LA-LP", None, "exact", ("exact",)),
    "lao-2025-bouasone": ("LA-LP", None, "exact", ("exact",)),
    "lao-2025-somphone": ("LA-KH", None, "exact", ("exact",)),
    "lao-2025-xia": ("LA-HO", None, "exact", ("exact",)),
    "lao-2025-inpeng": ("LA-CH", None, "exact", ("exact",)),
    "lao-2025-ketsana": ("LA-VT", None, "exact", ("exact", "alias")),
    "lao-2025-daovone": ("LA-BK", None, "exact", ("exact",)),
    "lao-2025-sivilay": ("LA-BK", None, "exact", ("exact",)),
    "lao-2025-amphone": ("LA-XA", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2025-ounkham": ("LA-PH", None, "exact", ("exact", "alias")),
    "lao-2026-nouthong": ("LA-LM", None, "fuzzy", ("fuzzy",)),
    "lao-2026-saengdao": ("LA-PH", "LA0204", "alias", ("alias",)),
    "lao-2026-chue": ("LA-PH", "LA0203", "exact", ("exact", "alias")),
    "lao-2026-onnaly": ("LA-AT", None, "alias", ("alias", "fuzzy")),
    "lao-2026-kongkeo": ("LA-OU", None, "fuzzy", ("fuzzy",)),
    "lao-2026-vanh": (None, None, "unmatched", ("unmatched",)),
    "lao-2026-phetsamone": ("LA-LM", None, "exact", ("exact", "alias")),
    "lao-2026-somsack": ("LA-LM", "LA0304", "exact", ("exact",)),
    "lao-2026-malaythong": ("LA-BL", None, "fuzzy", ("fuzzy", "alias")),
    "lao-2026-anousone": ("LA-LM", "LA0301", "exact", ("exact", "alias")),
}
_BAD_STORY_FILES = {
    "lao-2025-noy-draft.md": "front matter has no id (a required field)",
    "lao-2024-sengdao.md": "front matter is not valid YAML (an unclosed quoted title)",
}
_STORIES_ARRIVE = _lt(2026, 7, 1, 6)


def _front_matter(text: str) -> dict[str, Any]:
    _, matter, _ = text.split("---\n", 2)
    loaded = yaml.safe_load(matter)
    if not isinstance(loaded, dict):
        raise ValueError("front matter is not a mapping")
    return loaded


@dataclass
class _StoryResult:
    files: list[FileRecord]
    stories: list[StoryExpectation]
    bad: list[BadStoryFile]


def _write_stories(folder: Path) -> _StoryResult:
    files: list[FileRecord] = []
    stories: list[StoryExpectation] = []
    bad: list[BadStoryFile] = []
    for k, source in enumerate(sorted(STORIES_DIR.glob("*.md"))):
        target = folder / source.name
        shutil.copyfile(source, target)
        arrives = _STORIES_ARRIVE + 60 * k
        os.utime(target, (arrives, arrives))
        files.append(
            {
                "source": "stories",
                "name": source.name,
                "format": "md",
                "rows": 1,
                "bad_rows": [],
                "mtime": arrives,
                "arrival": 0,
            }
        )
        if source.name in _BAD_STORY_FILES:
            bad.append({"file": source.name, "problem": _BAD_STORY_FILES[source.name]})
        else:
            stories.append(_story_expectation(source))
    return _StoryResult(files, stories, bad)


def _story_expectation(source: Path) -> StoryExpectation:
    meta = _front_matter(source.read_text(encoding="utf-8"))
    story_id = str(meta["id"])
    if story_id not in _STORY_RESIDENCE:
        raise ValueError(f"{source.name}: story {story_id} has no expected residence")
    adm1, adm2, match, accepted = _STORY_RESIDENCE[story_id]
    residence = meta.get("residence") or {}
    return {
        "id": story_id,
        "file": source.name,
        "consent": str(meta["consent"]),
        "language": str(meta["language"]),
        "residence_place": residence.get("place"),
        "residence_adm1_code": adm1,
        "residence_adm2_code": adm2,
        "residence_match": match,
        "residence_match_accepted": list(accepted),
    }
