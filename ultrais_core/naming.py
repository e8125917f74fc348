"""Output names: one rule for `enhance`, `batch`, Export and Export all. Pure; no file access.

A result is named `<stem>_ultrais_x<scale>.<format>` after its source. When several inputs of
one run would land in one folder under the same stem (compared case-insensitively, as macOS
and Windows folders compare names), each of them carries its source extension:
`IMG_0001_cr2_ultrais_x2.jpg`, `IMG_0001_jpg_ultrais_x2.jpg`. When even that is taken
(IMG_0001.JPG and img_0001.jpg side by side, which Linux allows; a/IMG_0001.jpg and
b/IMG_0001.jpg into one folder; a photo really named IMG_0001_jpg.png), a counter follows the
extension: `img_0001_jpg-2_ultrais_x2.jpg`. Inputs whose stem no other input shares keep the
plain name, so results and batch manifests written before this rule stay valid.

NOTE: the extension joins with "_" rather than "." (`IMG_0001_cr2`, not `IMG_0001.cr2`): the
batch command has written such names since it first met two photos with one stem, so its
outputs and manifests stay valid, and every name keeps a single dot, before its real format.

The names depend only on the set of inputs, never on their order: they are handed out in the
sources' sorted order, and a source's plain name is never given away to another's tagged one.
"""

from __future__ import annotations

import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePath
from typing import TypeVar

Source = TypeVar("Source", bound="str | os.PathLike[str]")


def output_name(stem: str, scale: int, fmt: str) -> str:
    """The plain name of a result: `{stem}_ultrais_x{scale}.{fmt}`."""
    return f"{stem}_ultrais_x{scale}.{fmt}"


def unique_stems(sources: Iterable[Source]) -> dict[Source, str]:
    """The stem each source's result is named after, for sources written into one folder.

    The stem is the source's own unless another source shares it (ignoring case); then it is
    `<stem>_<extension>`, or `<stem>_<extension>-<n>` (n = 2, 3, ...) when that is taken too.
    No two stems returned are equal, ignoring case. A source given twice is named once.
    """
    ordered = sorted(set(sources), key=lambda source: (os.fspath(source), type(source).__name__))
    by_stem: dict[str, list[Source]] = defaultdict(list)
    for source in ordered:
        by_stem[PurePath(source).stem.casefold()].append(source)
    stems: dict[Source, str] = {}
    taken: set[str] = set()
    for key, members in by_stem.items():
        if len(members) == 1:
            stems[members[0]] = PurePath(members[0]).stem
            taken.add(key)
    for members in by_stem.values():
        if len(members) == 1:
            continue
        for source in members:
            path = PurePath(source)
            extension = path.suffix[1:].lower()
            base = f"{path.stem}_{extension}" if extension else path.stem
            stem, count = base, 1
            while stem.casefold() in taken:
                count += 1
                stem = f"{base}-{count}"
            stems[source] = stem
            taken.add(stem.casefold())
    return stems


def output_names(sources: Iterable[Source], scale: int, fmt: str) -> dict[Source, str]:
    """Each source's result name when all of them are written into one folder."""
    return {source: output_name(stem, scale, fmt) for source, stem in unique_stems(sources).items()}


def output_rels(rels: Iterable[str], scale: int, fmt: str) -> dict[str, str]:
    """Each source's result path when every one keeps its sub-folder (as `batch` does).

    rels: paths relative to the source folder with "/" separators; the result is relative to
    the output folder. Sub-folders whose names differ only in case count as one folder.
    """
    folders: dict[str, list[str]] = defaultdict(list)
    for rel in rels:
        folders[posixpath.dirname(rel).casefold()].append(rel)
    result: dict[str, str] = {}
    for members in folders.values():
        for rel, name in output_names(members, scale, fmt).items():
            parent = posixpath.dirname(rel)
            result[rel] = f"{parent}/{name}" if parent else name
    return result
