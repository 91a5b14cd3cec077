"""The one check of the thread-count arguments the render and fitting services take."""

from __future__ import annotations


def check_optional_count(name: str, count: object) -> None:
    """ValueError unless `count` is None (the library's default) or an int >= 1 (bools refused)."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"{name} must be None or a positive int, got {count!r}")
