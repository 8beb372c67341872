"""How many subjects each part of a split gets: arithmetic only, so the plan knows it before any data exists.

The split itself (which subjects) is drawn by :func:`neuroicl.data.splits.make_splits`, which takes
its part sizes from :func:`part_sizes`: the plan and the split cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PARTS = ("train", "val", "test")


def check_fractions(fractions: Mapping[str, float]) -> None:
    """Raise ValueError unless ``fractions`` gives every part of :data:`PARTS`, ≥ 0, summing to 1."""
    if set(fractions) != set(PARTS) or abs(sum(fractions.values()) - 1) > 1e-6 or min(fractions.values()) < 0:
        raise ValueError(f"splits.fractions must give {PARTS} summing to 1, got {dict(fractions)}")


def part_sizes(n: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Subjects per part of one site with ``n`` subjects.

    Validation and test each get ``round(fraction × n)`` subjects, at least one when the site has
    three or more subjects and the fraction is positive; training gets the rest.

    Example:
        >>> part_sizes(4, {"train": 0.5, "val": 0.25, "test": 0.25})
        {'train': 2, 'val': 1, 'test': 1}
    """
    check_fractions(fractions)
    n_val = max(int(round(fractions["val"] * n)), 1 if n >= 3 and fractions["val"] > 0 else 0)
    n_test = max(int(round(fractions["test"] * n)), 1 if n >= 3 and fractions["test"] > 0 else 0)
    return {"train": n - n_val - n_test, "val": n_val, "test": n_test}


def split_sizes(site_sizes: Iterable[int], fractions: Mapping[str, float]) -> dict[str, int]:
    """Subjects per part of a dataset whose sites hold ``site_sizes`` subjects (split per site, then pooled)."""
    totals = dict.fromkeys(PARTS, 0)
    for n in site_sizes:
        for part, size in part_sizes(n, fractions).items():
            totals[part] += size
    return totals
