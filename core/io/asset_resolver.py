"""Finding the files a mesh file names (an OBJ's MTL and texture images, a glTF's buffers and
images) the way the tools that wrote them meant, and remembering the ones that are missing.

trimesh 5.2's resolver takes a name literally and only inside the mesh's own folder, so a
texture is silently dropped when the MTL names it
- with backslashes (`textures\\skin.png`, as Windows tools write it),
- with options before it (`map_Kd -s 1 1 1 skin.png`, as the MTL format allows),
- with a comment after it (`map_Kd skin.png  # albedo`),
- in a parent folder (`../textures/skin.png`),
- relative to an MTL file kept in another folder than the OBJ (`mtllib materials/a.mtl`), or
- in another letter case than the file on disk (`Skin.PNG` for `skin.png`).
`AssetResolver` tries these readings in turn (the literal name first, so a name that really
holds '#' or a leading '-' still works) and lists the names it could not find in `missing`,
so that the loader can say what was left out instead of silently losing a texture; an image
that exists but cannot be decoded is listed in `unreadable`.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Iterator, List

import trimesh
from PIL import Image

from .obj_text import strip_bom

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tga", ".tif", ".tiff", ".gif", ".webp")
# MTL statements whose argument is a file name: their comments are handled in `get`, since a
# file name may hold " #".
_MTL_FILE_STATEMENT = rb"(?:map_\w+|bump|disp|decal|refl)\b"
_MTL_COMMENT = re.compile(rb"(?im)^(?![ \t]*" + _MTL_FILE_STATEMENT + rb")([^\r\n#]*?)[ \t]+#[^\r\n]*")


def clean_mtl_text(data: bytes) -> bytes:
    """An MTL file without byte-order mark and end-of-line comments outside file names:
    trimesh 5.2 reads `Kd 0.8 0.1 0.1  # red` as its default grey and misses the first
    statement after a BOM. A '#' counts as a comment after whitespace only."""
    return _MTL_COMMENT.sub(rb"\1", strip_bom(data))


def name_readings(name: str) -> Iterator[str]:
    """The ways a referenced file name may be meant, most literal first (duplicates possible)."""
    name = name.strip()
    bases = [name]
    without_comment = re.sub(r"\s+#.*$", "", name)
    if without_comment and without_comment != name:
        bases.append(without_comment)
    for base in bases:
        for text in (base, base.replace("\\", "/")):
            yield text
            if text.startswith("-"):  # MTL options before the name: try each tail of words
                words = text.split()
                yield from (" ".join(words[i:]) for i in range(1, len(words)))


class AssetResolver(trimesh.resolvers.FilePathResolver):
    """trimesh's resolver for the files beside a mesh, reading names as their writers meant
    (see the module notes), recording in `missing` each name it could not find and in
    `unreadable` each image PIL cannot decode. Names may lead outside the mesh's folder
    (`../textures/a.png`, absolute paths), as the writing tools intended."""

    def __init__(self, source: str) -> None:
        super().__init__(source, allow_anywhere=True)
        self.missing: List[str] = []
        self.unreadable: List[str] = []
        self._folders = [Path(self.parent)]  # the mesh's folder, then those of the MTL files read

    def get(self, name: str) -> bytes:
        for reading in name_readings(str(name)):
            path = self._existing(reading)
            if path is None:
                continue
            data = path.read_bytes()
            if path.suffix.lower() in _IMAGE_SUFFIXES:
                return self._checked_image(str(name), data)
            if path.suffix.lower() != ".mtl":
                return data
            if path.parent not in self._folders:
                self._folders.append(path.parent)
            return clean_mtl_text(data)
        if str(name).strip() and str(name) not in self.missing:
            self.missing.append(str(name))
        raise FileNotFoundError(name)

    def _checked_image(self, name: str, data: bytes) -> bytes:
        """The image file's bytes, noting its name in `unreadable` when PIL cannot decode it
        (trimesh would drop it without a word)."""
        try:
            Image.open(io.BytesIO(data)).verify()
        except Exception:  # PIL raises many types for broken files
            if name not in self.unreadable:
                self.unreadable.append(name)
        return data

    def _existing(self, name: str) -> "Path | None":
        """The file `name` refers to, relative to the mesh's folder or an MTL's (or absolute),
        else the file of that name in one of those folders; letter case of the file name
        ignored when there is no exact match."""
        if not name:
            return None
        candidates = [folder / name for folder in self._folders] + [folder / Path(name).name for folder in self._folders]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        for candidate in candidates:
            match = _case_insensitive_match(candidate)
            if match is not None:
                return match
        return None


def _case_insensitive_match(path: Path) -> "Path | None":
    """The file in `path`'s folder whose name equals `path`'s but for letter case, if any."""
    try:
        entries = sorted(os.listdir(path.parent))
    except OSError:
        return None
    lower = path.name.lower()
    for entry in entries:
        if entry.lower() == lower and (path.parent / entry).is_file():
            return path.parent / entry
    return None
