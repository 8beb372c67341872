"""Benchmark: deepbet skull stripping on the embedded cohort's T1w — Dice vs the true mask and wall time.

Usage: python -m bench.skullstrip_deepbet [--root resources/embedded] [--subjects 24] [--threads 2] [--repeats 1]

Three input variants, each mask compared with the truth on the native grid:
  native     the scan as stored (deepbet reorients to RAS itself, by permuting/flipping axes);
  canonical  ``nib.as_closest_canonical`` first (should equal native: same arrays reach the nets);
  1mm        resampled (linear) to a 1 mm isotropic RAS grid; the mask comes back by linear
             interpolation of its 0/1 values, > 0.5. Its time includes both resamplings.
Then, for the native probability: Dice at other thresholds, Dice against brain + extracerebral CSF,
and where the false-positive voxels lie (truth label classes). Times are the fastest of ``--repeats`` runs
(other jobs on the same CPUs inflate single runs). Needs deepbet (pip install deepbet==1.0.2).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import nibabel as nib
import numpy as np
import pandas as pd
import torch
from nibabel.processing import resample_from_to, resample_to_output

from neuroicl.data import labels as L
from neuroicl.preprocess.deepbet_strip import deepbet_mask, deepbet_probability, postprocess, weight_paths

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def canonical_variant(image: nib.Nifti1Image, threads: int) -> np.ndarray:
    """deepbet on the closest-canonical image, mask put back on the native grid."""
    canonical = nib.as_closest_canonical(image)
    mask = deepbet_mask(canonical, threads=threads).astype(np.uint8)
    return np.asarray(resample_from_to(nib.Nifti1Image(mask, canonical.affine), image, order=0).dataobj) > 0


def one_mm_variant(image: nib.Nifti1Image, threads: int) -> np.ndarray:
    """deepbet on a 1 mm isotropic RAS resampling, mask interpolated back onto the native grid."""
    fine = resample_to_output(
        nib.Nifti1Image(image.get_fdata(dtype=np.float32), image.affine), voxel_sizes=1.0, order=1
    )
    mask = deepbet_mask(fine, threads=threads).astype(np.float32)
    return np.asarray(resample_from_to(nib.Nifti1Image(mask, fine.affine), image, order=1).dataobj) > 0.5


def timed(repeats: int, function, *args, **kwargs):
    """``(result, fastest wall seconds)`` of ``repeats`` calls (the results are deterministic)."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
    return result, min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="resources/embedded")
    parser.add_argument("--subjects", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="time each variant this many times, keep the fastest")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    participants = pd.read_csv(f"{args.root}/participants.tsv", sep="\t").head(args.subjects)

    start = time.perf_counter()
    weight_paths()  # locate and hash the weights once, outside the timings
    first = participants["participant_id"].iloc[0]
    deepbet_mask(nib.load(f"{args.root}/{first}/anat/{first}_T1w.nii.gz"), threads=args.threads)
    print(f"weights check + model load + one warm-up run: {time.perf_counter() - start:.1f} s")

    rows, extra = [], []
    for subject, site in zip(participants["participant_id"], participants["site"], strict=True):
        image = nib.load(f"{args.root}/{subject}/anat/{subject}_T1w.nii.gz")
        truth_dir = f"{args.root}/derivatives/truth/{subject}/anat"
        truth = np.asarray(nib.load(f"{truth_dir}/{subject}_desc-brain_mask.nii.gz").dataobj) > 0
        dseg = np.asarray(nib.load(f"{truth_dir}/{subject}_dseg.nii.gz").dataobj)
        probability, seconds = timed(args.repeats, deepbet_probability, image, threads=args.threads)
        native, post_seconds = timed(args.repeats, postprocess, probability)
        canonical, canonical_seconds = timed(args.repeats, canonical_variant, image, args.threads)
        one_mm, one_mm_seconds = timed(args.repeats, one_mm_variant, image, args.threads)
        for variant, mask, wall in (
            ("native", native, seconds + post_seconds),
            ("canonical", canonical, canonical_seconds),
            ("1mm", one_mm, one_mm_seconds),
        ):
            rows.append((subject, site, variant, dice(mask, truth), mask.sum() / truth.sum(), wall))
        false_positive = native & ~truth
        extra.append(
            {"subject": subject, "site": site}
            | {f"dice@{t}": dice(postprocess(probability, t), truth) for t in THRESHOLDS}
            | {"dice_vs_brain+xCSF": dice(native, truth | (dseg == L.EXTRA_CSF))}
            | {
                f"fp_{name}": float(((dseg == label) & false_positive).sum() / max(false_positive.sum(), 1))
                for name, label in (("xCSF", L.EXTRA_CSF), ("skull", L.SKULL), ("scalp", L.SCALP))
            }
        )
        print(
            f"{subject} {site}: " + "  ".join(f"{v} {d:.4f} ({w:.1f} s)" for _, _, v, d, _, w in rows[-3:]), flush=True
        )

    table = pd.DataFrame(rows, columns=["subject", "site", "variant", "dice", "volume_ratio", "seconds"])
    summary = table.groupby(["variant", "site"], sort=False).agg(
        dice_mean=("dice", "mean"),
        dice_min=("dice", "min"),
        volume_ratio=("volume_ratio", "mean"),
        seconds_mean=("seconds", "mean"),
        seconds_min=("seconds", "min"),
        n=("dice", "size"),
    )
    print("\nDice vs true brain mask (T1w, threshold 0.5), per site and input variant:")
    print(summary.round(4).to_string())
    print("\nall sites:")
    print(
        table.groupby("variant", sort=False)[["dice", "volume_ratio", "seconds"]]
        .agg(["mean", "min"])
        .round(4)
        .to_string()
    )
    diagnostics = pd.DataFrame(extra).drop(columns="subject").groupby("site").mean()
    print(
        "\nnative input — Dice by threshold, Dice vs brain+extracerebral CSF, share of false positives by true label:"
    )
    print(diagnostics.round(4).to_string())
    print(
        f"\nthreads={args.threads}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}, deepbet 1.0.2 on CPU"
    )
    print(f"load average at the end (1/5/15 min): {os.getloadavg()} — wall times grow when other jobs share the CPUs")


if __name__ == "__main__":
    main()
