"""The per-subject preprocessing job: read → chain → labels → slices, QC figure, QC row."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from neuroicl.core.io import atomic_path, write_json, write_tsv
from neuroicl.data.slice_store import write_subject_slices
from neuroicl.preprocess import qc, slices
from neuroicl.preprocess.chain import PreprocessSettings, Template, preprocess_subject
from neuroicl.preprocess.grid import resample
from neuroicl.preprocess.inputs import read_subject, read_volume


def native_stripper(method: str, threads: int):
    """The native-space stripper a method needs (None for 'atlas'); deepbet is imported lazily."""
    if method != "deepbet":
        return None
    from neuroicl.preprocess.deepbet_strip import deepbet_mask

    return lambda data, affine: deepbet_mask(data, affine, threads=threads)


#: The truth files the embedded cohort has (real datasets have none); QC compares with them.
TRUTH = ("pose", "mask", "bias")


def truth_files(inputs) -> dict[str, str] | None:
    """The truth files among a job's ``inputs`` (a mapping), or None when the dataset has none.

    Raises:
        ValueError: when only some of :data:`TRUTH` are given (QC needs all three).
    """
    present = [key for key in TRUTH if key in inputs.keys()]
    if present and len(present) != len(TRUTH):
        raise ValueError(
            f"truth files {present} given without {sorted(set(TRUTH) - set(present))}; QC needs all of {TRUTH}"
        )
    return {key: str(inputs[key]) for key in TRUTH} if present else None


def run_subject(
    ants,
    subject: str,
    site: str,
    images: dict[str, str],
    labels: str | None,
    truth: dict[str, str] | None,
    template: Template,
    settings: PreprocessSettings,
    modalities: list[str],
    slicing: dict,
    outputs: dict[str, str],
    threads: int,
) -> dict:
    """Preprocess one subject and write its slices, transform, QC figure and QC row; returns the row.

    ``labels`` (a label map) and ``truth`` (:func:`truth_files`) may be None, as for real datasets: the
    slices then carry all-zero labels and the QC row reports timings only (no truth to measure against).

    ``ants`` must come from ``import_ants(1)`` for reproducible registrations; ``threads`` is for deepbet.
    """
    start = time.perf_counter()
    data = read_subject(subject, images)
    read_seconds = time.perf_counter() - start
    result = preprocess_subject(ants, data, template, settings, native_stripper(settings.skullstrip, threads))
    label_grid = None
    if labels is not None:
        label_image = read_volume(subject, labels, dtype=np.uint8)
        label_grid = resample(
            np.asarray(label_image.dataobj, dtype=np.uint8),
            label_image.affine,
            result.native_to_mni,
            settings.grid,
            order=0,
        )
    indices = slices.select_slices(
        template.brain_on_grid, slicing["axis"], slicing["min_brain_fraction"], slicing["step"]
    )
    write_subject_slices(
        outputs["slices"],
        slices.subject_slices(result.images, modalities, result.mask, label_grid, slicing["axis"], indices),
    )
    write_json(
        outputs["transform"],
        {
            "native_to_mni": np.round(result.native_to_mni, 8).tolist(),
            "estimated_by": "ANTsPy " + settings.registration.transform,
        },
    )
    with atomic_path(outputs["figure"]) as temporary:
        first = settings.registration_modality
        qc.qc_figure(result, template, first, f"{subject} ({site}): {first} on the model grid").savefig(
            temporary, dpi=90
        )
    row = {"subject": subject, "site": site, "read_s": read_seconds, **{f"{k}_s": v for k, v in result.seconds.items()}}
    row["total_s"] = time.perf_counter() - start
    if truth is not None:
        row |= qc.truth_metrics(result, truth, settings.grid)
    else:
        row |= qc.image_metrics(result, template, settings.grid, settings.registration_modality)
    write_tsv(outputs["row"], pd.DataFrame([row]).round(4))
    return row
