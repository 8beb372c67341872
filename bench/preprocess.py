"""Benchmark: our preprocessing chain vs the standard one (ANTsPy defaults), same subjects, same run.

ours:      the configured chain (deepbet, brain-to-brain Affine; N4 and normalization on the model grid).
standard:  unmasked whole-head ``Affine`` (ANTsPy default schedule) and ANTsPy-default N4
           (shrink 4, 4×50 iterations) on the native T1w grid, within the true brain mask.
Usage: python -m bench.preprocess [--subjects sub-001,sub-002,sub-003] [--threads 2]
Needs the cohort (`snakemake -c2 all`). Prints one row per (chain, subject).
"""

from __future__ import annotations

import argparse
import json
import time

import nibabel as nib
import numpy as np
import pandas as pd
import yaml

from neuroicl.preprocess.antsenv import import_ants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="sub-001,sub-002,sub-003")
    parser.add_argument("--threads", type=int, default=1, help="ITK threads; >1 is not deterministic")
    parser.add_argument("--config", default="config/config.yaml")
    args = parser.parse_args()
    ants = import_ants(args.threads)
    from neuroicl.data.reference import load_reference
    from neuroicl.plan.reference import resolve_reference
    from neuroicl.preprocess import qc
    from neuroicl.preprocess.chain import PreprocessSettings, Template, preprocess_subject
    from neuroicl.preprocess.inputs import read_subject
    from neuroicl.preprocess.register import RegistrationSettings, affine_error_mm, register_to_template, to_ants
    from neuroicl.preprocess.subject import native_stripper

    config = yaml.safe_load(open(args.config))
    settings = PreprocessSettings.from_config(config["preprocess"])
    reference = load_reference(resolve_reference(config["reference"]))
    template = Template.from_reference(reference.t1, reference.affine, reference.brain, settings.grid)
    modalities = config["cohort"]["modalities"]
    rows = []
    for subject in args.subjects.split(","):
        root, truth_dir = "resources/embedded", f"resources/embedded/derivatives/truth/{subject}/anat/{subject}"
        truth = {
            "pose": f"{truth_dir}_pose.json",
            "mask": f"{truth_dir}_desc-brain_mask.nii.gz",
            "bias": f"{truth_dir}_biasfield.nii.gz",
        }
        data = read_subject(subject, {m: f"{root}/{subject}/anat/{subject}_{m}.nii.gz" for m in modalities})

        start = time.perf_counter()
        result = preprocess_subject(ants, data, template, settings, native_stripper(settings.skullstrip, args.threads))
        total = time.perf_counter() - start
        metrics = qc.truth_metrics(result, truth, settings.grid)
        rows.append(
            {
                "chain": "ours",
                "subject": subject,
                **metrics,
                "register_s": result.seconds["register"],
                "n4_s": result.seconds["n4"],
                "total_s": total,
            }
        )

        pose = np.array(json.load(open(truth["pose"]))["native_to_mni"])
        mask_image = nib.as_closest_canonical(nib.load(truth["mask"]))
        mask = np.asarray(mask_image.dataobj) > 0
        points = np.argwhere(mask) @ mask_image.affine[:3, :3].T + mask_image.affine[:3, 3]
        t0 = time.perf_counter()
        estimated = register_to_template(
            ants,
            data.data["T1w"],
            data.affine,
            reference.t1,
            reference.affine,
            reference.t1 > 0,
            RegistrationSettings(transform="Affine", mask_dilation_mm=None),  # unmasked
        )
        t1 = time.perf_counter()
        bias_image = nib.as_closest_canonical(nib.load(truth["bias"]))
        true_bias = np.asarray(bias_image.dataobj, dtype=np.float32)
        n4_seconds, corr = 0.0, {}
        for modality in modalities:
            t2 = time.perf_counter()
            field = ants.n4_bias_field_correction(
                to_ants(ants, data.data[modality], data.affine),
                mask=to_ants(ants, mask.astype(np.float32), data.affine),
                return_bias_field=True,
            ).numpy()
            n4_seconds += time.perf_counter() - t2
            corr[f"bias_corr_{modality}"] = float(np.corrcoef(np.log(field[mask]), np.log(true_bias[mask]))[0, 1])
        mean, worst = affine_error_mm(estimated, pose, points)
        rows.append(
            {
                "chain": "standard",
                "subject": subject,
                "registration_mean_mm": mean,
                "registration_max_mm": worst,
                **corr,
                "register_s": t1 - t0,
                "n4_s": n4_seconds,
                "total_s": time.perf_counter() - t0,
            }
        )
        print(pd.DataFrame(rows[-2:]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(table.groupby("chain").mean(numeric_only=True).round(3).T.to_string())


if __name__ == "__main__":
    main()
