"""The exceptions core.io raises for files it cannot read or write.

Both derive from ValueError, so code that already catches ValueError for bad input keeps working;
their messages name the file and the problem and are meant to be shown to the user as they are.
"""
from __future__ import annotations


class MeshLoadError(ValueError):
    """A mesh file exists but cannot be turned into a triangle mesh (corrupt, empty, wrong kind)."""


class MeshSaveError(ValueError):
    """A mesh could not be written: invalid data, or the destination cannot be written to."""
