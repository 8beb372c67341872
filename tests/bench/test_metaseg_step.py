"""bench.metaseg_step: the meta-step benchmark runs the library's meta_gradient at the demo's settings."""

from __future__ import annotations

from bench.metaseg_step import step_ms


def test_one_small_step_is_timed():
    assert step_ms(batch=1, steps=1, size=8, warmup=0) > 0
