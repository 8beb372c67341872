"""bench.cores: the effective-cores figure and the interleaved passes."""

from __future__ import annotations

import pytest

from bench.cores import effective_cores, measure


def test_effective_cores_counts_copies_at_the_solo_rate():
    assert effective_cores(30.0, [30.0, 30.0]) == pytest.approx(2.0)  # two idle cores
    assert effective_cores(30.0, [60.0, 60.0]) == pytest.approx(1.0)  # one core shared
    assert effective_cores(30.0, [45.0]) == pytest.approx(30.0 / 45.0)


def test_each_round_times_one_pass_alone_and_every_copy_side_by_side():
    alone, side = measure(copies=2, rounds=2, steps=1, warmup=0)
    assert len(alone) == 2 and [len(s) for s in side] == [2, 2]
    assert all(p.wall_ms > 0 and p.cpu_ms > 0 for p in [*alone, *side[0], *side[1]])


def test_a_failing_copy_stops_the_measurement_instead_of_hanging():
    with pytest.raises(SystemExit, match="exited with code 1"):
        measure(copies=2, rounds=1, steps=0, warmup=0)  # steps 0: the copies divide by zero
