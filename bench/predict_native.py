"""`neuroicl predict` on a finished run's raw native volumes, against the pipeline's own evaluation (issue #20).

For every test subject of the embedded cohort, the run's model file predicts one segmentation class from the
subject's raw native-space T1w, with the raw T1w and native truth masks of the first ``--context`` training
subjects as context (one call: the context is preprocessed once). Its Dice against the subject's native truth
(over the whole volume) is set next to the pipeline's Dice for the same run, subject, class, modality and L
(``results/evaluate/<run>/metrics.csv``, mean over its repeats). Writes ``predict_native.csv`` / ``.md`` and a
figure (``predict_native.png``: per subject, the native slice through the class's centre, truth and prediction).

Usage (after ``snakemake -c2 all`` in ``<checkout>``):
    python -m bench.predict_native --root <checkout> --out docs/figures --threads 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from neuroicl.core.metrics import dice  # noqa: E402


def _mask(path: Path, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    image = nib.load(path)
    return np.isin(np.asarray(image.dataobj), ids), image.affine


def run(root: Path, out: Path, model_run: str, label: str, context: int, threads: int) -> pd.DataFrame:
    from neuroicl.inference.model import load_model
    from neuroicl.inference.predict import Request, predict_files
    from neuroicl.preprocess.antsenv import import_ants

    ants = import_ants(1)
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    ids = list(config["evaluation"]["labels"][label])
    splits = json.loads((root / "results" / "splits" / "embedded.json").read_text())
    cohort = root / "resources" / "embedded"
    truth_of = {s: cohort / "derivatives" / "truth" / s / "anat" / f"{s}_dseg.nii.gz"
                for s in [*splits["train"], *splits["test"]]}
    shown = sorted(splits["train"])[:context]
    tests = sorted(splits["test"])
    model = load_model(root / "results" / "train" / model_run / "model.pt", device="cpu")
    with tempfile.TemporaryDirectory() as scratch:
        masks = []
        for s in shown:
            mask, affine = _mask(truth_of[s], ids)
            masks.append(f"{scratch}/{s}_{label}.nii.gz")
            nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), masks[-1])
        outputs = [f"{scratch}/{s}_pred.nii.gz" for s in tests]
        request = Request([str(cohort / s / "anat" / f"{s}_T1w.nii.gz") for s in tests], outputs,
                          [str(cohort / s / "anat" / f"{s}_T1w.nii.gz") for s in shown], masks)
        predict_files(ants, model, request, "cpu", threads=threads)
        metrics = pd.read_csv(root / "results" / "evaluate" / model_run / "metrics.csv")
        rows, panels = [], []
        for s, path in zip(tests, outputs, strict=True):
            predicted = np.asarray(nib.load(path).dataobj).astype(bool)
            truth, _ = _mask(truth_of[s], ids)
            scored = metrics.query("dataset == 'embedded' and subject == @s and label == @label and "
                                   "modality == 'T1w' and metric == 'dice' and context_size == @context")
            rows.append({"subject": s, "native_dice": dice(predicted, truth), "pipeline_dice": scored["value"].mean(),
                         "pipeline_targets": len(scored)})
            image = np.asarray(nib.load(cohort / s / "anat" / f"{s}_T1w.nii.gz").dataobj, dtype=np.float32)
            z = int(np.round(np.argwhere(truth)[:, 2].mean()))
            panels.append((s, image[:, :, z], truth[:, :, z], predicted[:, :, z]))
    table = pd.DataFrame(rows)
    table["difference"] = table["native_dice"] - table["pipeline_dice"]
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "predict_native.csv", index=False, float_format="%.4f")
    _figure(panels, table, model_run, label, context, out / "predict_native.png")
    return table


def _figure(panels, table: pd.DataFrame, model_run: str, label: str, context: int, path: Path) -> None:
    """One column per subject: the native T1w slice, truth (green) and prediction (magenta) contours."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), squeeze=False)
    for ax, (subject, image, truth, predicted), (_, row) in zip(axes[0], panels, table.iterrows(), strict=True):
        ax.imshow(image.T, cmap="gray", origin="lower")
        ax.contour(truth.T.astype(float), levels=[0.5], colors="lime", linewidths=0.8)
        ax.contour(predicted.T.astype(float), levels=[0.5], colors="magenta", linewidths=0.8)
        ax.set_title(f"{subject}: native Dice {row.native_dice:.3f}\npipeline {row.pipeline_dice:.3f}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"neuroicl predict, {model_run}, {label}, L = {context} (truth green, prediction magenta)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="a checkout after `snakemake -c2 all`")
    parser.add_argument("--out", type=Path, required=True, help="folder for the table and the figure")
    parser.add_argument("--run", default="neuralizer-seen", help="the run whose model file predicts")
    parser.add_argument("--label", default="cortex", help="the segmentation class (evaluation.labels)")
    parser.add_argument("--context", type=int, default=4, help="context pairs L (a context size the run scores)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    table = run(args.root, args.out, args.run, args.label, args.context, args.threads)
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
