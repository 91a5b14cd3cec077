"""core.utils.keep_freed_memory: glibc's malloc told to keep freed memory, nothing elsewhere."""
import ctypes
import platform
import sys

import pytest

import core.utils.allocator as allocator
from core.utils import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_glibc_accepts_the_settings_and_allocation_still_works():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent
    block = ctypes.create_string_buffer(8 * 1024 * 1024)  # served from the heap now, and freed
    assert len(block) == 8 * 1024 * 1024


def test_other_systems_are_left_alone(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert keep_freed_memory() is False
