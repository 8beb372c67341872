"""Benchmark: atlas-based vs deepbet skull stripping on the embedded cohort's true brain masks.

Both are scored on the native grid (where deepbet runs) and on the model grid (where the chain
uses the mask), with the registrations the pipeline estimated (results/preprocess/.../transforms).
Usage: python -m bench.skullstrip [--threads 2]   (after `snakemake -c2 all`)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from neuroicl.core.io import load_arrays
from neuroicl.core.metrics import dice
from neuroicl.data.reference import load_reference
from neuroicl.plan.reference import resolve_reference
from neuroicl.preprocess.chain import PreprocessSettings, Template
from neuroicl.preprocess.deepbet_strip import deepbet_mask
from neuroicl.preprocess.grid import resample
from neuroicl.preprocess.inputs import read_volume


def to_native(
    mask: np.ndarray, mask_affine: np.ndarray, native_to_mni: np.ndarray, affine: np.ndarray, shape
) -> np.ndarray:
    """Carry an MNI-space mask (voxel→MNI ``mask_affine``) to a native grid (nearest)."""
    from scipy import ndimage

    voxel_map = np.linalg.inv(mask_affine) @ native_to_mni @ affine
    return (
        ndimage.affine_transform(
            mask.astype(np.uint8), voxel_map[:3, :3], voxel_map[:3, 3], output_shape=shape, order=0
        )
        > 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--config", default="config/config.yaml")
    args = parser.parse_args()
    grid = PreprocessSettings.from_config(yaml.safe_load(open(args.config))["preprocess"]).grid
    config = yaml.safe_load(open(args.config))
    template = load_arrays(Template, "resources/reference/model_grid_template.npz")
    reference = load_reference(resolve_reference(config["reference"]))  # atlas brain mask at 1 mm
    rows = []
    for transform in sorted(Path("results/preprocess/embedded/transforms").glob("*.json")):
        subject = transform.name.split("_")[0]
        truth = f"resources/embedded/derivatives/truth/{subject}/anat/{subject}"
        estimated = np.array(json.loads(transform.read_text())["native_to_mni"])
        t1 = read_volume(subject, f"resources/embedded/{subject}/anat/{subject}_T1w.nii.gz")
        true_native = np.asarray(read_volume(subject, f"{truth}_desc-brain_mask.nii.gz").dataobj) > 0
        # carried with the estimated transform, as the images are (docs/preprocessing.md)
        true_grid = resample(true_native.astype(np.uint8), t1.affine, estimated, grid, order=0) > 0
        start = time.perf_counter()
        deep_native = deepbet_mask(np.asarray(t1.dataobj), t1.affine, threads=args.threads)
        seconds = time.perf_counter() - start
        deep_grid = resample(deep_native.astype(np.uint8), t1.affine, estimated, grid, order=0) > 0
        atlas_native = to_native(reference.brain, reference.affine, estimated, t1.affine, t1.shape)
        rows.append(
            {
                "subject": subject,
                "atlas_native": dice(atlas_native, true_native),
                "deepbet_native": dice(deep_native, true_native),
                "atlas_grid": dice(template.brain_on_grid, true_grid),
                "deepbet_grid": dice(deep_grid, true_grid),
                "deepbet_s": seconds,
            }
        )
        print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1), flush=True)
    table = pd.DataFrame(rows)
    print(table.drop(columns="subject").agg(["mean", "min"]).round(4).to_string())


if __name__ == "__main__":
    main()
