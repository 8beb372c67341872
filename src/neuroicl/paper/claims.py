"""The claims table: each claim of the paper the config can test, with the measured numbers and PASS/FAIL.

Computed from the metrics table through the Table 4 summary (mean across subjects of each variant's
primary metric per task and train/context size, :func:`neuroicl.paper.table4.summarize`). A claim is a
statement about those means; its row gives the numbers compared and whether it holds. It is an output
for readers, not a test: a FAIL is reported, never hidden.

The reference a learned model must beat on task t (its *floor*): the context mean (``Floor``) at the
largest context size for the mask tasks (segmentation, skull stripping), and the input itself
(``Identity``) for the image tasks. One claim holds the image tasks to the context mean as well
(:func:`learned_beat_context_mean`): where it beats the input, it is the stronger reference.

Example:
    >>> table = claims(summarize(metrics_table.read("results/evaluate/metrics.csv")))
    >>> table[["claim", "task", "verdict"]].head(2)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from neuroicl.paper.table4 import TASKS
from neuroicl.plan.families import TASK_FAMILY, family_of, outputs_image
from neuroicl.plan.runs import VARIANTS

#: The legend names of the rows the claims compare (:data:`neuroicl.plan.runs.VARIANTS`).
SEEN, UNSEEN, UNET, UNIVERSEG, METASEG, FLOOR, IDENTITY = (
    VARIANTS[key]
    for key in ("neuralizer-seen", "neuralizer-unseen", "unet", "universeg", "metaseg", "context_mean", "identity")
)
_COMPARED = (SEEN, UNSEEN, UNIVERSEG, UNET, METASEG)  # the comparison's learned rows, in claims-table order
#: The learned variants: every row but the two references (Floor, Identity), the comparison's first.
LEARNED = _COMPARED + tuple(v for v in VARIANTS.values() if v not in (*_COMPARED, FLOOR, IDENTITY))

COLUMNS = ("claim", "task", "measured", "value", "reference", "reference_value", "verdict")


class Means:
    """Lookups into a Table 4 summary: the mean of a variant on a task at an x label ("32", "all", "—")."""

    def __init__(self, summary: pd.DataFrame) -> None:
        self.summary = summary
        self._mean = {(r.variant, r.task, r.x_label): float(r.mean) for r in summary.itertuples()}

    def get(self, variant: str, task: str, x: str) -> float | None:
        return self._mean.get((variant, task, x))

    def tasks(self, variant: str) -> list[str]:
        """Tasks ``variant`` is scored on, in Table 4 order."""
        present = set(self.summary.loc[self.summary["variant"] == variant, "task"])
        return [task for task in TASKS if task in present]

    def xs(self, variant: str, task: str) -> list[str]:
        """x labels of ``variant`` on ``task``, in increasing x."""
        part = self.summary[(self.summary["variant"] == variant) & (self.summary["task"] == task)]
        return part.sort_values("x", na_position="first")["x_label"].tolist()

    def best(self, variant: str, task: str) -> tuple[str, float] | None:
        """The best x label and mean of ``variant`` on ``task`` (higher is better for Dice and PSNR)."""
        part = self.summary[(self.summary["variant"] == variant) & (self.summary["task"] == task)]
        if part.empty:
            return None
        row = part.loc[part["mean"].idxmax()]
        return str(row["x_label"]), float(row["mean"])

    def largest_context(self, variant: str, task: str) -> str | None:
        numeric = [x for x in self.xs(variant, task) if x.isdigit()]
        return numeric[-1] if numeric else None

    def at_largest_context(self, variant: str, task: str) -> tuple[str | None, float | None]:
        """The largest context size of ``variant`` on ``task`` and its mean there (None, None if it has none)."""
        x = self.largest_context(variant, task)
        return x, None if x is None else self.get(variant, task, x)


def floor(means: Means, task: str) -> tuple[str, float] | None:
    """The floor of ``task``: (name, mean) of Identity for image tasks, of Floor at its largest L for masks."""
    if outputs_image(task):
        value = means.get(IDENTITY, task, "—")
        return None if value is None else ("Identity", value)
    return context_mean(means, task)


def context_mean(means: Means, task: str) -> tuple[str, float] | None:
    """(name, mean) of the context mean (Floor) at its largest L on ``task``: the mask tasks' floor."""
    x, value = means.at_largest_context(FLOOR, task)
    return None if value is None else (f"Floor (L = {x})", value)


def claim_row(claim: str, task: str, measured: str, value: float | None, reference: str,
              reference_value: float | None, holds: bool | None) -> dict:
    """One row of the claims table (:data:`COLUMNS`): the verdict PASS / FAIL, or n/a when ``holds`` is None."""
    verdict = "n/a" if holds is None else ("PASS" if holds else "FAIL")
    return {"claim": claim, "task": task, "measured": measured, "value": value, "reference": reference,
            "reference_value": reference_value, "verdict": verdict}


def _compare(value: float | None, reference: float | None) -> bool | None:
    return None if value is None or reference is None else value >= reference


def seen_beats_floor(means: Means) -> list[dict]:
    """Neuralizer-seen at its largest context ≥ the floor of each task (Identity for images, Floor for masks)."""
    rows = []
    for task in means.tasks(SEEN):
        x, value = means.at_largest_context(SEEN, task)
        ref = floor(means, task)
        rows.append(claim_row("Neuralizer-seen at its largest context beats the floor", task, f"{SEEN} (L = {x})",
                              value, ref[0] if ref else "–", ref[1] if ref else None,
                              _compare(value, ref[1] if ref else None)))
    return rows


def seen_rises_with_context(means: Means) -> list[dict]:
    """Neuralizer-seen's score at the largest context > its score at L = 1, per task (strictly: a flat curve does
    not rise, unlike the ≥ of the other claims)."""
    rows = []
    for task in means.tasks(SEEN):
        x, high = means.at_largest_context(SEEN, task)
        low = means.get(SEEN, task, "1")
        rows.append(claim_row("Neuralizer-seen's score rises with the context size", task, f"{SEEN} (L = {x})", high,
                              f"{SEEN} (L = 1)", low, None if low is None or high is None else high > low))
    return rows


def unet_all_beats_one(means: Means) -> list[dict]:
    """U-Net on all training subjects ≥ U-Net on one subject, per task."""
    rows = []
    for task in means.tasks(UNET):
        every, one = means.get(UNET, task, "all"), means.get(UNET, task, "1")
        rows.append(claim_row("U-Net (all subjects) is at least as good as U-Net (1 subject)", task, f"{UNET} (all)",
                              every, f"{UNET} (1)", one, _compare(every, one)))
    return rows


def unet_rows_beat_floor(means: Means) -> list[dict]:
    """Each U-Net row (training-subject count) beats the floor on at least half of its tasks."""
    rows = []
    xs = sorted({x for task in means.tasks(UNET) for x in means.xs(UNET, task)}, key=lambda x: (x == "all", x.zfill(6)))
    for x in xs:
        results = [_compare(means.get(UNET, task, x), (floor(means, task) or (None, None))[1])
                   for task in means.tasks(UNET)]
        known = [r for r in results if r is not None]
        wins = sum(known)
        rows.append(claim_row("Each U-Net row beats the floor on at least half its tasks", "(all tasks)",
                              f"{UNET} ({x})", float(wins), "half of its tasks", len(known) / 2,
                              wins >= len(known) / 2 if known else None))
    return rows


def seen_beats_small_unets(means: Means) -> list[dict]:
    """Neuralizer-seen (largest context) beats the U-Net trained on 1 (and on 2) subjects on most tasks."""
    rows = []
    for k in ("1", "2"):
        results = [_compare(means.at_largest_context(SEEN, task)[1], means.get(UNET, task, k))
                   for task in means.tasks(SEEN)]
        known = [r for r in results if r is not None]
        if not known:
            continue
        rows.append(claim_row(f"Neuralizer-seen beats the U-Net trained on {k} subject(s) on most tasks", "(all tasks)",
                              f"{SEEN} (largest L)", float(sum(known)), f"{UNET} ({k})", len(known) / 2,
                              sum(known) > len(known) / 2))
    return rows


def _learned_best_against(means: Means, claim: str, reference: Callable[[Means, str], tuple[str, float] | None],
                          keep: Callable[[str], bool] = lambda task: True) -> list[dict]:
    """``claim`` per learned variant and task (those ``keep`` takes): its best setting against ``reference``."""
    rows = []
    for variant in LEARNED:
        for task in filter(keep, means.tasks(variant)):
            best = means.best(variant, task)
            if best is None:
                continue
            ref = reference(means, task)
            rows.append(claim_row(claim, task, f"{variant} ({best[0]})", best[1], ref[0] if ref else "–",
                                  ref[1] if ref else None, _compare(best[1], ref[1] if ref else None)))
    return rows


def learned_beat_floor(means: Means) -> list[dict]:
    """Every learned model beats its floor at its best setting, per variant and task."""
    return _learned_best_against(means, "Every learned model beats the floor at its best setting", floor)


def learned_beat_context_mean(means: Means) -> list[dict]:
    """On the image tasks, every learned model at its best setting also beats the context mean at its largest L (the
    mask tasks' floor): the mean of the context outputs, an atlas-like image, can be a stronger reference than the
    input itself (modality transfer's input is another modality, undersampling's a zero-filled reconstruction)."""
    return _learned_best_against(means, "On image tasks, every learned model also beats the context mean",
                                 context_mean, outputs_image)


def unet_all_is_segmentation_ceiling(means: Means) -> list[dict]:
    """U-Net on all data is the best row on segmentation (the paper's ceiling)."""
    value = means.get(UNET, "segmentation", "all")
    if value is None:
        return []
    others = [(v, means.best(v, "segmentation")) for v in (*LEARNED, FLOOR) if v != UNET]
    others = [(v, b) for v, b in others if b is not None]
    top = max(others, key=lambda vb: vb[1][1], default=None)
    return [claim_row("U-Net on all data is the ceiling for segmentation", "segmentation", f"{UNET} (all)", value,
                      f"best other: {top[0]} ({top[1][0]})" if top else "–", top[1][1] if top else None,
                      _compare(value, top[1][1] if top else None))]


#: Every claim, in table order.
CLAIMS: tuple[Callable[[Means], list[dict]], ...] = (
    seen_beats_floor, seen_rises_with_context, seen_beats_small_unets, unet_all_beats_one, unet_rows_beat_floor,
    learned_beat_floor, learned_beat_context_mean, unet_all_is_segmentation_ceiling,
)


def claims(summary: pd.DataFrame, extra: list[dict] | None = None) -> pd.DataFrame:
    """The claims table of a Table 4 summary (columns :data:`COLUMNS`), then the ``extra`` rows (MetaSeg's study,
    :func:`neuroicl.paper.metaseg_study.study_claims`; MVG's outputs, :func:`neuroicl.paper.mvg_study.mvg_claims`)."""
    means = Means(summary)
    rows = [row for claim in CLAIMS for row in claim(means)] + list(extra or [])
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _number(value: float | None, task: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if task == "(all tasks)":
        return f"{value:g}"
    if task not in TASK_FAMILY:  # a study's own task (ISTN's sex, age)
        return f"{value:.2f}"
    return f"{value:.2f}" if family_of(task) in ("segmentation", "skull_strip") else f"{value:.1f}"


#: What the subjects a claims table scores are, per evaluation part (the line under its Markdown table).
PART_NOTES = {
    "test": "Scored on the test subjects, whose scores chose the demo's settings (docs/training.md); "
            "`snakemake -c2 validation` scores the validation subjects, which chose none but MetaSeg's shared start.",
    "val": "Scored on the validation subjects, whose scores chose no setting but MetaSeg's shared start "
           "(docs/training.md); "
           "MetaSeg's and ISTN's own studies are not rescored here.",
}


def to_markdown(table: pd.DataFrame, part: str | None = None) -> str:
    """The claims table as Markdown: one row per claim and task, the measured numbers, the verdict; then the
    count of verdicts and, for an evaluation ``part`` (:data:`PART_NOTES`), what its subjects are."""
    lines = ["| claim | task | measured | value | reference | reference value | verdict |",
             "| :-- | :-- | :-- | --: | :-- | --: | :-: |"]
    for row in table.itertuples():
        task = TASKS.get(row.task, row.task)
        lines.append(f"| {row.claim} | {task} | {row.measured} | {_number(row.value, row.task)} | {row.reference} | "
                     f"{_number(row.reference_value, row.task)} | **{row.verdict}** |")
    passed, failed = (table["verdict"] == "PASS").sum(), (table["verdict"] == "FAIL").sum()
    lines += ["", f"{passed} PASS, {failed} FAIL, {len(table) - passed - failed} not testable with this config."]
    if part is not None:
        lines += ["", PART_NOTES[part]]
    return "\n".join(lines) + "\n"
