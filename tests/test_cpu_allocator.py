"""glibc malloc tuning for CPU inference: applied once on Linux, a no-op elsewhere."""

from __future__ import annotations

import sys

import pytest

from ultrais_core import cpu_allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tuning_applies_on_glibc_and_trim_runs() -> None:
    assert cpu_allocator.keep_freed_memory() is True
    cpu_allocator.release_freed_memory()  # must not raise


def test_no_op_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_allocator.sys, "platform", "win32")
    cpu_allocator._glibc.cache_clear()
    cpu_allocator.keep_freed_memory.cache_clear()
    try:
        assert cpu_allocator.keep_freed_memory() is False
        cpu_allocator.release_freed_memory()
    finally:
        cpu_allocator._glibc.cache_clear()
        cpu_allocator.keep_freed_memory.cache_clear()
