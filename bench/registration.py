"""Benchmark: accuracy and speed of affine registration settings on the embedded cohort.

Usage: python -m bench.registration [--subjects sub-001,sub-002,...] [--threads 2]
Needs the cohort (`snakemake -c2 all`). Error = distance between the estimated and the true
native→MNI affine over the true brain voxels (the cohort's deformation has no affine part, so the
true pose is the best affine). Prints one row per (setting, subject) and a summary per setting.
"""

from __future__ import annotations

import argparse
import json
import time

import nibabel as nib
import numpy as np
import pandas as pd

from neuroicl.plan.reference import builtin_path
from neuroicl.preprocess.antsenv import import_ants
from neuroicl.preprocess.register import RegistrationSettings, affine_error_mm, register_to_template

SETTINGS = {
    "RigidAffine": RegistrationSettings(transform="RigidAffine"),
    # the rigid stage has solved the coarse levels: the affine starts at shrink 2
    "RigidAffine-fine": RegistrationSettings(
        transform="RigidAffine", iterations=(0, 0, 1200, 10), shrink_factors=(6, 4, 2, 1), smoothing_sigmas=(3, 2, 1, 0)
    ),
    "RigidAffine-fine-short": RegistrationSettings(
        transform="RigidAffine", iterations=(0, 0, 400, 10), shrink_factors=(6, 4, 2, 1), smoothing_sigmas=(3, 2, 1, 0)
    ),
    "AffineFast": RegistrationSettings(transform="AffineFast"),
    "Affine": RegistrationSettings(transform="Affine"),
    "Affine-no-finest": RegistrationSettings(transform="Affine", iterations=(2100, 1200, 1200, 0)),
    "Affine-short": RegistrationSettings(transform="Affine", iterations=(1000, 500, 250, 0), sampling_rate=0.1),
    "Affine-unmasked": RegistrationSettings(transform="Affine", mask_dilation_mm=None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="sub-001,sub-002,sub-003,sub-004,sub-005,sub-006")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--threads", type=int, default=1, help="ITK threads; >1 is not deterministic")
    parser.add_argument("--root", default="resources/embedded")
    args = parser.parse_args()
    ants = import_ants(args.threads)
    template = nib.load(builtin_path("template_t1"))
    template_data = np.asarray(template.dataobj, dtype=np.float32)
    rows = []
    for subject in args.subjects.split(","):
        truth_dir = f"{args.root}/derivatives/truth/{subject}/anat"
        image = nib.load(f"{args.root}/{subject}/anat/{subject}_T1w.nii.gz")
        mask = nib.load(f"{truth_dir}/{subject}_desc-brain_mask.nii.gz")
        index = np.argwhere(np.asarray(mask.dataobj) > 0)
        points = index @ mask.affine[:3, :3].T + mask.affine[:3, 3]
        truth = np.array(json.load(open(f"{truth_dir}/{subject}_pose.json"))["native_to_mni"])
        for name in args.settings.split(","):
            start = time.perf_counter()
            estimated = register_to_template(
                ants,
                np.asarray(image.dataobj, dtype=np.float32),
                image.affine,
                template_data,
                template.affine,
                template_data > 0,
                SETTINGS[name],
            )
            seconds = time.perf_counter() - start
            mean, worst = affine_error_mm(estimated, truth, points)
            rows.append((name, subject, mean, worst, seconds))
            print(f"{name:18s} {subject} mean {mean:5.2f} mm  max {worst:5.2f} mm  {seconds:5.1f} s", flush=True)
    table = pd.DataFrame(rows, columns=["setting", "subject", "mean_mm", "max_mm", "seconds"])
    print(table.groupby("setting")[["mean_mm", "max_mm", "seconds"]].agg(["mean", "max"]).round(2).to_string())


if __name__ == "__main__":
    main()
