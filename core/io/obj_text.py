"""Clean-up of OBJ text before trimesh parses it (trimesh still does all the parsing).

trimesh 5.2's OBJ reader finds records by searching for "\\nv ", "\\nf " and so on, so legal
files that lay their lines out differently are misread, some silently:
- a UTF-8 byte-order mark hides the first record; tabs between fields or indented lines hide
  all of them; an end-of-line comment (`v 0 0 0  # tip`) makes the numbers unreadable, and
  a comment line holding the word "mtllib" is taken for the material library;
- relative (negative) indices are taken from the end of the whole file instead of from the
  line where they appear, so `v … f -3 -2 -1` repeated per object gives every object the last
  object's triangle;
- a face whose corners mix index forms (`f 1/1 2/2 3`) is cut into the wrong triangles.
`clean_obj_text` rewrites the first three into the plain layout trimesh expects and rejects the
last with a clear error, as PyTorch3D does. It works on bytes, so any text encoding passes.
"""
from __future__ import annotations

import re
from typing import Dict, Type

_BOM = b"\xef\xbb\xbf"
# Records trimesh reads numbers from; a '#' on such a line starts a comment.
_DATA_LINE_COMMENT = re.compile(rb"(?m)^((?:v|vt|vn|f|l)[ ][^#\n]*)#[^\n]*")
_LEADING_BLANKS = re.compile(rb"(?m)^[ \t]+")
_COMMENT_LINE = re.compile(rb"(?m)^#[^\n]*")
_FACE_LINE = re.compile(rb"(?m)^f [^\n]*")
_NEGATIVE_FACE_INDEX = re.compile(rb"(?m)^f [^\n]*[ /]-\d")
_RECORD = re.compile(rb"(?m)^(v|vt|vn|f) ([^\n]*)")
# One face line whose corners all have the same form: v, v/vt, v//vn or v/vt/vn (trailing
# slashes as in `1/`, `1//` or `1/2/` are allowed, as they name nothing).
_INDEX = rb"-?\d+"
_CONSISTENT_FACE = (
    rb"f(?:(?: +%(i)s/{0,2})+|(?: +%(i)s/%(i)s/?)+|(?: +%(i)s//%(i)s)+|(?: +%(i)s/%(i)s/%(i)s)+) *" % {b"i": _INDEX}
)
_CONSISTENT_FACE_LINE = re.compile(rb"(?m)^" + _CONSISTENT_FACE + rb"$")


def strip_bom(data: bytes) -> bytes:
    """The bytes without a leading UTF-8 byte-order mark (which trimesh reads as text)."""
    return data[len(_BOM):] if data.startswith(_BOM) else data


def clean_obj_text(data: bytes, where: str, error: Type[ValueError]) -> bytes:
    """The OBJ file's bytes in the layout trimesh reads correctly (see the module notes);
    `error` (message starting with `where`) for a face whose corners mix index forms."""
    data = strip_bom(data).replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\\\n", b"")
    data = _LEADING_BLANKS.sub(b"", data).replace(b"\t", b" ")
    if b"#" in data:
        data = _COMMENT_LINE.sub(b"", _DATA_LINE_COMMENT.sub(rb"\1", data))
    _check_face_corners(data, where, error)
    if _NEGATIVE_FACE_INDEX.search(data):
        data = _absolute_indices(data)
    return data


def _check_face_corners(data: bytes, where: str, error: Type[ValueError]) -> None:
    """Raise `error` naming the first face line whose corners are not all of one form (counted
    by regular expressions first, so that well-formed files cost no loop in Python)."""
    if len(_FACE_LINE.findall(data)) == len(_CONSISTENT_FACE_LINE.findall(data)):
        return
    for match in _FACE_LINE.finditer(data):
        if not _CONSISTENT_FACE_LINE.fullmatch(match.group(0)):
            line = data.count(b"\n", 0, match.start()) + 1
            text = match.group(0).decode("utf-8", "replace").strip()
            raise error(
                f"{where}: line {line} ('{text}'): a face's corners must all give the same indices "
                "(v, v/vt, v//vn or v/vt/vn), and only integers"
            )


def _absolute_indices(data: bytes) -> bytes:
    """Replace each negative index in face lines by the 1-based index it refers to: -1 is the
    last v (vt, vn) record before that line."""
    counts: Dict[int, int] = {0: 0, 1: 0, 2: 0}  # v, vt, vn records seen so far
    slots = {b"v": 0, b"vt": 1, b"vn": 2}

    def corner(text: bytes) -> bytes:
        parts = text.split(b"/")
        for slot, part in enumerate(parts):
            if part.startswith(b"-"):
                parts[slot] = str(counts[slot] + 1 + int(part)).encode()
        return b"/".join(parts)

    def record(match: "re.Match[bytes]") -> bytes:
        kind, rest = match.group(1), match.group(2)
        if kind != b"f":
            counts[slots[kind]] += 1
            return match.group(0)
        return b"f " + b" ".join(corner(c) for c in rest.split())

    return _RECORD.sub(record, data)
