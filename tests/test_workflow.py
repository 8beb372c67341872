"""The workflow: lint- and format-clean, and runs end to end on the tiny test config."""

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from matplotlib import pyplot as plt

from neuroicl.core.io import load_arrays
from neuroicl.core.metrics import dice
from neuroicl.data.anatomy import Anatomy
from neuroicl.data.domains import domain_images, open_study_data
from neuroicl.data.slice_store import SliceStore
from neuroicl.data.sources import open_datasets
from neuroicl.data.splits import read_splits
from neuroicl.evaluation import metrics_table
from neuroicl.evaluation.istn_study import transform_examples
from neuroicl.models.istn_file import load_istn_model
from neuroicl.paper.claims import claims
from neuroicl.paper.istn_study import istn_claims
from neuroicl.paper.metaseg_study import study_claims
from neuroicl.paper.metaseg_study import summarize as study_summarize
from neuroicl.paper.mvg_study import mvg_claims
from neuroicl.paper.table4 import summarize
from neuroicl.plots import PNG_DPI
from neuroicl.plots.cohort import cohort_figure
from neuroicl.plots.curves import FIGURES, performance_figure
from neuroicl.plots.istn import PNG_DPI as ISTN_DPI
from neuroicl.plots.istn import transform_figure
from neuroicl.plots.samples import SAMPLE_FIGURES, figure_tasks, sample_figure
from neuroicl.plots.tasks import augmentation_figure, task_figure
from neuroicl.tasks.examples import augmentation_examples, example_setup, task_examples
from neuroicl.training.istn_job import setup
from tests.helpers.bids import write_bids_cohort

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
#: A local BIDS dataset (kind: bids) the end-to-end run adds to the tiny config; kept out of tests/config/config.yaml,
#: whose other users (the SLURM test, dry runs) would otherwise need the folder written first.
BIDS_DATASET = {"name": "mystudy", "kind": "bids", "path": "bids/mystudy", "n_subjects": 3,
                "modalities": ["T1w", "FLAIR"], "labelled": True}


def rules_run(stderr: str) -> list[str]:
    """The rules of the jobs a Snakemake run started, in order (its "rule <name>:" lines)."""
    return re.findall(r"^(?:local)?rule (\w+):$", stderr, flags=re.MULTILINE)


def _snakemake(root: Path, folder: Path, *targets: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "-c2", "-s", str(root / "workflow" / "Snakefile"), "-d", str(folder), *extra, *targets],
        capture_output=True, text=True, timeout=900,
    )


def test_snakemake_lint_is_clean(root):
    run = subprocess.run([*SNAKEMAKE, "--lint"], cwd=root, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Congratulations, your workflow is in a good condition!" in run.stdout + run.stderr


def test_snakefmt_is_clean(root):
    run = subprocess.run(
        [shutil.which("snakefmt") or "snakefmt", "--check", "workflow/"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def tiny_run(root, tmp_path_factory, config_loader) -> Path:
    """`snakemake all` on tests/config/config.yaml plus BIDS_DATASET (3 cohort subjects, a BIDS folder of 3), once.

    The BIDS folder (dataset `mystudy`) is synthesized first with the workflow's own reference anatomy: an empty
    BIDS folder lets the workflow build that anatomy, the test writes the subjects, then `all` runs."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "config").mkdir()
    config = config_loader()
    config["datasets"].append(BIDS_DATASET)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    bids = folder / BIDS_DATASET["path"]
    bids.mkdir(parents=True)
    run = _snakemake(root, folder, "resources/reference/anatomy.npz")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    bids.rmdir()
    write_bids_cohort(bids, config["cohort"], load_arrays(Anatomy, folder / "resources/reference/anatomy.npz"), 3, 5)
    run = _snakemake(root, folder, "all")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return folder


def _png(figure, dpi: int) -> np.ndarray:
    """The pixels of ``figure`` saved as PNG at ``dpi`` (as the pipeline's scripts save it)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    buffer.seek(0)
    return plt.imread(buffer)


def assert_figure_shows(path: Path, figure, dpi: int) -> None:
    """The pipeline's PNG ``path`` is, pixel for pixel, ``figure`` (the library drawing the pipeline's own
    data), and not blank: the figure shows what the data say, not merely a file of some size."""
    shown = plt.imread(path)
    assert shown.std() > 0.05, f"{path.name} is blank"
    expected = _png(figure, dpi)
    assert shown.shape == expected.shape and np.array_equal(shown, expected), f"{path.name} does not show its data"


@pytest.mark.workflow
def test_cohort_stage_outputs(tiny_run, test_config):
    participants = pd.read_csv(tiny_run / "resources" / "embedded" / "participants.tsv", sep="\t")
    shown = [("sub-001", m) for m in test_config["cohort"]["modalities"]]  # one subject per site
    shown += [("sub-002", m) for m in test_config["cohort"]["modalities"]]
    images = {(s, m): str(tiny_run / "resources" / "embedded" / s / "anat" / f"{s}_{m}.nii.gz") for s, m in shown}
    assert_figure_shows(
        tiny_run / "results" / "figures" / "cohort.png", cohort_figure(participants, images), PNG_DPI["cohort"]
    )
    assert list(participants["participant_id"]) == ["sub-001", "sub-002", "sub-003"]
    t1 = nib.load(tiny_run / "resources" / "embedded" / "sub-002" / "anat" / "sub-002_T1w.nii.gz")
    assert "".join(nib.aff2axcodes(t1.affine)) == "LPS"
    agreement = pd.read_csv(tiny_run / "results" / "data" / "atlas_agreement.tsv", sep="\t")
    assert set(agreement["structure"]) == {"brain", "white_matter", "cerebral_cortex"}


@pytest.mark.workflow
def test_model_cost_table(tiny_run):
    cost = pd.read_csv(tiny_run / "results" / "tables" / "table6_model_cost.csv")
    assert sorted(cost["context_size"].unique()) == [1, 2]
    assert (cost.loc[cost["model"] == "Neuralizer (C=64)", "params_m"] > 1.2).all()


@pytest.mark.workflow
def test_preprocessing_outputs(tiny_run):
    store = SliceStore.open(str(tiny_run / "results" / "preprocess" / "embedded" / "slices"))
    assert store.images.shape[1:] == (2, 32, 32)  # M = T1w, FLAIR; coronal [X, Z] of the 6 mm grid
    assert set(store.index["subject"]) == {"sub-001", "sub-002", "sub-003"}
    assert store.labels.max() > 0 and store.mask.max() == 1
    qc = pd.read_csv(tiny_run / "results" / "preprocess" / "embedded" / "qc.tsv", sep="\t")
    assert (qc["skullstrip_dice"] > 0.85).all() and (qc["registration_mean_mm"] < 6).all()
    assert (tiny_run / "results" / "preprocess" / "embedded" / "qc" / "sub-001.png").is_file()
    splits = read_splits(str(tiny_run / "results" / "splits" / "embedded.json"))
    assert sorted(splits["train"]) == ["sub-002", "sub-003"] and splits["test"] == ["sub-001"]


@pytest.mark.workflow
def test_a_bids_folder_runs_through_the_pipeline(tiny_run):
    """kind: bids: the adapter keeps the three complete subjects, reports the incomplete one, and the dataset is
    preprocessed, split, sliced and scored like the others."""
    report = pd.read_csv(tiny_run / "resources" / "mystudy" / "adapter_report.tsv", sep="\t", dtype=str,
                         keep_default_na=False)
    assert report[["source_id", "status"]].values.tolist() == [
        ["sub-01", "skipped"], ["sub-02", "kept"], ["sub-03", "kept"], ["sub-04", "kept"]]
    assert report["reason"][0] == ("no session with every one of T1w, FLAIR, a label map derivatives/*/…_dseg.nii.gz "
                                   "(sub-01 has T1w)")
    participants = pd.read_csv(tiny_run / "resources" / "mystudy" / "participants.tsv", sep="\t", dtype=str)
    assert participants["source_id"].tolist() == ["sub-02", "sub-03", "sub-04"]
    assert set(participants["site"]) <= {"siteA", "siteB"} and participants["age"].notna().all()
    store = SliceStore.open(str(tiny_run / "results" / "preprocess" / "mystudy" / "slices"))
    assert set(store.index["subject"]) == {"sub-0001", "sub-0002", "sub-0003"} and store.labels.max() > 0
    metrics = metrics_table.read(tiny_run / "results" / "evaluate" / "metrics.csv")
    scored = metrics[metrics.dataset == "mystudy"]
    assert {"segmentation", "modality_transfer", "skull_stripping"} <= set(scored["task"])
    assert np.isfinite(scored["value"]).all()


@pytest.mark.workflow
def test_task_and_augmentation_figures(tiny_run, test_config):
    results = tiny_run / "results"
    stores, splits = open_datasets(
        ["embedded"],
        [str(results / "preprocess" / "embedded" / "slices" / "index.tsv")],
        [str(results / "splits" / "embedded.json")],
    )
    tasks = test_config["tasks"]
    setup = example_setup(tasks, stores, splits, test_config["preprocess"]["slices"]["axis"])
    pairs = tasks["examples"]["context_pairs"]
    assert_figure_shows(
        results / "figures" / "tasks.png",
        task_figure(task_examples(setup, tasks["examples"]["seed"], pairs), pairs),
        PNG_DPI["tasks"],
    )
    assert_figure_shows(
        results / "figures" / "augmentations.png",
        augmentation_figure(augmentation_examples(setup, tasks["examples"]["seed"])),
        PNG_DPI["augmentations"],
    )
    assert "tasks (dataset): {'segmentation': 'embedded'," in (tiny_run / "logs" / "figures" / "tasks.log").read_text()


@pytest.mark.workflow
def test_no_temporary_files_are_left(tiny_run):
    assert not list(tiny_run.rglob(".*.tmp-*"))


@pytest.mark.workflow
def test_corrupt_input_fails_its_subject_only(root, tiny_run, tmp_path):
    """A truncated image: that subject's job fails naming the file, leaves nothing; the other completes."""
    shutil.copytree(tiny_run / "resources", tmp_path / "resources")
    shutil.copytree(tiny_run / "config", tmp_path / "config")
    shutil.copytree(tiny_run / "bids", tmp_path / "bids")
    broken = tmp_path / "resources" / "embedded" / "sub-001" / "anat" / "sub-001_FLAIR.nii.gz"
    broken.write_bytes(broken.read_bytes()[:5000])
    targets = [f"results/preprocess/embedded/subjects/sub-00{i}.npz" for i in (1, 2)]
    run = _snakemake(root, tmp_path, *targets, extra=("--keep-going",))
    assert run.returncode != 0
    assert (tmp_path / targets[1]).is_file()
    assert not list((tmp_path / "results").rglob("sub-001*"))
    log = (tmp_path / "logs" / "preprocess" / "embedded" / "subjects" / "sub-001.log").read_text()
    assert "sub-001: cannot read" in log and "sub-001_FLAIR.nii.gz" in log and "truncated or corrupt" in log
    assert json.loads((tmp_path / "resources" / "embedded" / "dataset_description.json").read_text())["Name"]


@pytest.mark.workflow
def test_training_evaluation_and_paper_outputs(tiny_run, test_config):
    results = tiny_run / "results"
    runs = [
        "neuralizer-seen",
        "neuralizer-unseen-segmentation",
        "unet-segmentation-n1",
        "unet-segmentation-all",
        "unet-denoising-n1",
        "unet-denoising-all",
        "universeg-skull_stripping",
        "metaseg-segmentation-all",
        "mvg",
        "context_mean",
        "identity",
    ]
    metrics = metrics_table.read(results / "evaluate" / "metrics.csv")
    assert sorted(metrics["run"].unique()) == sorted(runs)
    for dataset in ("embedded", "mystudy"):  # the test split only, of every dataset
        tested = read_splits(str(results / "splits" / f"{dataset}.json"))["test"]
        assert set(metrics.loc[metrics.dataset == dataset, "subject"]) == set(tested)
    assert read_splits(str(results / "splits" / "embedded.json"))["test"] == ["sub-001"]
    assert set(metrics.loc[metrics.run == "neuralizer-seen", "context_size"]) == {1, 2}
    assert metrics.loc[metrics.run == "unet-denoising-n1", "context_size"].isna().all()
    assert set(metrics.loc[metrics.run == "neuralizer-unseen-segmentation", "task"]) == {"segmentation"}
    mvg = metrics[metrics.run == "mvg"]  # its task subset, averaged over up to two prompts
    assert set(mvg["task"]) == {"segmentation", "denoising"} and set(mvg["context_size"]) == {1, 2}
    assert np.isfinite(metrics["value"]).all()
    log = pd.read_csv(results / "train" / "neuralizer-seen" / "log.csv")
    assert list(log.columns) == ["label", "step", "loss", "lr", "samples_per_s", "seconds"] and log.step.max() == 4
    per_label = torch.load(results / "train" / "unet-segmentation-n1" / "model.pt", weights_only=False)
    assert sorted(per_label["networks"]) == ["cortex", "lateral_ventricle"]  # one network per class
    assert "| Neuralizer-seen | 2 |" in (results / "tables" / "table4.md").read_text()
    assert "\\begin{tabular}" in (results / "tables" / "table4.tex").read_text()
    steps, ablation = (pd.read_csv(results / "tables" / f"metaseg_{name}.csv") for name in ("steps", "ablation"))
    study = study_claims(study_summarize(steps, ["model", "steps"]), study_summarize(ablation, ["model"]),
                         "metaseg-segmentation-all", "metaseg-ablation_random", "metaseg-ablation_image_only")
    mvg_tasks, mvg_ablation = (pd.read_csv(results / "tables" / f"mvg_{name}.csv") for name in ("tasks", "ablation"))
    study += mvg_claims(mvg_ablation, mvg_tasks)
    study += istn_claims(pd.read_csv(results / "tables" / "istn.csv"))
    shown = pd.read_csv(results / "tables" / "claims.csv")  # the claims table: the verdicts of these metrics
    verdicts = shown["verdict"].fillna("n/a")  # pandas reads "n/a" as NaN
    assert verdicts.tolist() == claims(summarize(metrics), study)["verdict"].tolist()
    assert shown["claim"].str.contains("AR training beats MIM").sum() == 2
    assert len(shown) > 5
    assert shown["claim"].str.contains("image-only meta-learning").any()
    assert sorted(steps["steps"].unique()) == [0, 1, 2] and set(steps["label"]) == {"cortex"}
    assert ablation["model"].nunique() == 4 and np.isfinite(ablation["value"]).all()
    moved = pd.read_csv(results / "tables" / "metaseg_misalignment.csv")
    assert set(moved["model"]) == {"metaseg", "unet"} and set(moved["kind"]) == {"rotation", "translation"}
    assert "| Random init |" in (results / "tables" / "metaseg_ablation.md").read_text()
    for name in ("metaseg_steps", "metaseg_misalignment"):
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert "PASS" in (results / "tables" / "claims.md").read_text()
    assert "whose scores chose the demo's settings" in (results / "tables" / "claims.md").read_text().splitlines()[-1]
    ablation_runs = [f"mvg-ablation_{v}" for v in ("ar", "mim50", "mim75", "predefined", "binary")]
    for run in ablation_runs:  # trained and scored at one prompt on segmentation, outside Table 4's metrics
        own = metrics_table.read(results / "evaluate" / run / "metrics.csv")
        assert set(own["task"]) == {"segmentation"} and set(own["context_size"]) == {1}
        assert set(own["metric"]) == {"dice", "iou"} and (results / "train" / run / "model.pt").is_file()
    assert list(mvg_ablation["setting"].unique()) == ["AR", "MIM 50 %", "MIM 75 %", "random", "pre-defined",
                                                        "binary", "unified", "isolated"]
    assert set(mvg_ablation["run"]) == {"mvg", *ablation_runs} and mvg_ablation["n"].nunique() == 1
    unified = metrics[(metrics.run == "mvg") & (metrics.task == "segmentation") & (metrics.context_size == 1)]
    shown_iou = mvg_ablation.loc[(mvg_ablation.setting == "unified") & (mvg_ablation.metric == "iou"), "mean"]
    assert float(shown_iou.iloc[0]) == pytest.approx(unified.loc[unified.metric == "iou", "value"].mean(), abs=1e-4)
    assert set(mvg_tasks["task"]) == {"segmentation", "denoising"}
    assert set(mvg_tasks["model"]) == {"MVG", "Floor", "Identity"} and set(mvg_tasks["metric"]) == {
        "iou", "mae", "psnr", "ssim"}
    assert "| denoising | Identity | – |" in (results / "tables" / "mvg_tasks.md").read_text()
    assert "| mask strategy | MIM 75 % | mvg-ablation_mim75 |" in (results / "tables" / "mvg_ablation.md").read_text()
    for name, (modality, title) in FIGURES.items():  # Figs. 4 and 12: the metrics, all inputs or T1w only
        assert_figure_shows(
            results / "figures" / f"{name}.png", performance_figure(metrics, modality, title), PNG_DPI["performance"]
        )
    with np.load(results / "evaluate" / "neuralizer-seen" / "samples.npz") as data:
        samples = {key: data[key] for key in data.files}
    for name in SAMPLE_FIGURES:  # Figs. 6-8: Neuralizer-seen's test samples, a third of the tasks each
        tasks = figure_tasks(name, test_config["tasks"]["evaluated"])
        figure = sample_figure(samples, tasks, test_config["evaluation"]["samples"]["context_pairs"])
        assert_figure_shows(results / "figures" / f"{name}.png", figure, PNG_DPI["samples"])
    for name in ("fig4", "fig12", *SAMPLE_FIGURES):
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert list((tiny_run / "checkpoints" / "neuralizer-seen").glob("*/step-00000004.pt"))


@pytest.mark.workflow
def test_istn_study_outputs(tiny_run, test_config):
    """ISTN's study at tiny scale: T_S per task, one bi-directional adaptation training both inits, scores, Tables
    2-3, Figs. 3-4 (showing the models' own transforms) and the claims; only the source site's labels are read."""
    results = tiny_run / "results"
    folder, scored = results / "train" / "istn" / "embedded", results / "evaluate" / "istn" / "embedded"
    scores = pd.concat([pd.read_csv(scored / task / "siteA-siteB" / "scores.csv") for task in ("segmentation", "age")])
    variants = {"itn-bspline_bi_scratch", "itn-bspline_bi_finetune"}
    assert set(scores["model"]) == {"source", "chance", *variants} and set(scores["metric"]) == {"dice", "mae"}
    assert set(scores.loc[scores["model"] == "chance", "metric"]) == {"mae"}  # chance: covariate tasks only
    assert set(scores.loc[scores["domain"] == "target", "site"]) == {"siteB"}
    assert (scores["label_sites"] == "siteA").all()
    table = pd.read_csv(results / "tables" / "istn.csv")
    assert set(table["task"]) == {"segmentation", "age"} and set(table["model"]) == {"source", "chance", *variants}
    text = (results / "tables" / "istn.md").read_text()
    assert "| yes | B-spline | " in text and "Bi-ISTN (CycleGAN) MAE (years) (f)" in text
    assert "Chance (the siteA training subjects' mean for every subject)" in text
    for job in ("train/istn/embedded/segmentation/siteA/source", "train/istn/embedded/segmentation/siteA-siteB/"
                "itn-bspline_bi", "evaluate/istn/embedded/age/siteA-siteB/scores"):
        assert (tiny_run / "benchmarks" / f"{job}.tsv").is_file()
    store, _, splits = open_study_data(str(results / "preprocess" / "embedded" / "slices" / "index.tsv"),
                                       str(tiny_run / "resources" / "embedded" / "participants.tsv"),
                                       str(results / "splits" / "embedded.json"))
    order = [s for part in ("test", "val", "train") for s in sorted(splits[part])]
    models = {"itn+bspline": load_istn_model(folder / "segmentation" / "siteA-siteB" / "itn-bspline_bi" / "scratch.pt")}
    threads = torch.get_num_threads()
    setup(1)  # as the figure's job: one thread, denormals flushed
    try:
        examples = transform_examples(models, domain_images(store, "siteA", order, ["T1w"]), 1, order)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)
    assert_figure_shows(results / "figures" / "istn.png", transform_figure(examples, "siteA-siteB"), ISTN_DPI)
    shown = pd.read_csv(results / "tables" / "claims.csv")
    assert shown["claim"].str.contains("No training or model selection read a label of siteB").sum() == 2
    assert shown["claim"].str.contains("well above chance").sum() == 1  # age's; segmentation has no chance row


@pytest.mark.workflow
def test_a_figure_rebuilds_from_cached_metrics_alone(root, tiny_run):
    (tiny_run / "results" / "figures" / "fig4.pdf").unlink()
    run = _snakemake(root, tiny_run, "results/figures/fig4.pdf")
    assert run.returncode == 0, run.stderr[-3000:]
    assert rules_run(run.stderr) == ["performance_figure"]
    assert (tiny_run / "results" / "figures" / "fig4.pdf").is_file()


@pytest.mark.workflow
def test_the_held_out_check_needs_validation_subjects_and_says_so(root, tiny_run):
    """`validation` scores the trained runs on the val split; the tiny config has none (splits.fractions.val 0), so
    its evaluate_val jobs stop naming the empty split and the config key, write no metrics, and retrain nothing."""
    run = _snakemake(root, tiny_run, "validation")
    assert run.returncode != 0
    assert set(rules_run(run.stderr)) == {"evaluate_val"}
    logs = [path.read_text() for path in (tiny_run / "logs" / "evaluate_val").glob("*.log")]
    assert logs and all("the val split is empty" in text and "splits.fractions" in text for text in logs)
    assert not list((tiny_run / "results").glob("evaluate_val/*/metrics.csv"))


@pytest.mark.workflow
def test_report_has_every_figure(root, tiny_run):
    run = _snakemake(root, tiny_run, extra=("--report", "report.html"))
    assert run.returncode == 0, run.stderr[-3000:]
    text = (tiny_run / "report.html").read_text(errors="replace")
    assert all(name in text for name in ("fig4.pdf", "fig12.pdf", "fig6.pdf", "cohort.png", "tasks.png", "claims.csv",
                                         "mvg_ablation.md", "mvg_tasks.md", "istn.md", "istn.pdf"))


@pytest.mark.workflow
def test_predict_on_raw_native_volumes_matches_the_pipelines_evaluation(tiny_run, tmp_path):
    """`neuroicl predict` with Neuralizer-seen's model file (its stored settings, no config) on the held-out
    subject's raw T1w, with the training subjects' raw T1w and native cortex masks as context: its Dice against
    the native truth is within 0.05 of the pipeline's own Dice for that subject, task and L. The tiny model is
    barely trained, so this checks the chain end to end (docs/inference.md has the demo-scale comparison)."""
    from neuroicl.inference.cli import main

    splits = read_splits(tiny_run / "results" / "splits" / "embedded.json")
    subject, context = splits["test"][0], splits["train"][:2]
    cohort = tiny_run / "resources" / "embedded"
    cortex = (3, 4)

    def truth(s: str) -> nib.Nifti1Image:
        return nib.load(cohort / "derivatives" / "truth" / s / "anat" / f"{s}_dseg.nii.gz")

    masks = []
    for s in context:
        image = truth(s)
        masks.append(str(tmp_path / f"{s}_cortex.nii.gz"))
        nib.save(nib.Nifti1Image(np.isin(np.asarray(image.dataobj), cortex).astype(np.uint8), image.affine), masks[-1])
    target = cohort / subject / "anat" / f"{subject}_T1w.nii.gz"
    out = tmp_path / f"{subject}_cortex_pred.nii.gz"
    code = main(["predict", "--model", str(tiny_run / "results" / "train" / "neuralizer-seen" / "model.pt"),
                 "--target", str(target), "--out", str(out), "--context-in",
                 *[str(cohort / s / "anat" / f"{s}_T1w.nii.gz") for s in context], "--context-out", *masks,
                 "--threads", "2", "--quiet"])
    assert code == 0
    written, raw = nib.load(out), nib.load(target)
    assert written.shape == raw.shape and np.array_equal(written.affine, raw.affine)
    prediction = np.asarray(written.dataobj)
    assert set(np.unique(prediction)) <= {0, 1}
    truth_mask = np.isin(np.asarray(truth(subject).dataobj), cortex)
    native = dice(prediction.astype(bool), truth_mask)
    metrics = pd.read_csv(tiny_run / "results" / "evaluate" / "neuralizer-seen" / "metrics.csv")
    rows = metrics.query("subject == @subject and label == 'cortex' and modality == 'T1w' and metric == 'dice' "
                         "and context_size == 2")
    assert len(rows) and abs(native - rows["value"].mean()) <= 0.05, (native, rows["value"].mean())


@pytest.mark.workflow
def test_predict_with_a_model_that_segments_matches_the_pipelines_evaluation(tiny_run, tmp_path):
    """The per-label U-Net trained on every subject (200 tiny steps: it segments the cortex) predicts the held-out
    subject's raw native T1w: its native Dice is well above 0 and within 0.05 of the pipeline's own Dice for that
    subject and class (one target slice at the tiny config's repeats); a geometry error would break either."""
    from neuroicl.inference.cli import main

    subject = read_splits(tiny_run / "results" / "splits" / "embedded.json")["test"][0]
    cohort = tiny_run / "resources" / "embedded"
    target, out = cohort / subject / "anat" / f"{subject}_T1w.nii.gz", tmp_path / "cortex.nii.gz"
    code = main(["predict", "--model", str(tiny_run / "results" / "train" / "unet-segmentation-all" / "model.pt"),
                 "--label", "cortex", "--target", str(target), "--out", str(out), "--threads", "2", "--quiet"])
    assert code == 0
    prediction = np.asarray(nib.load(out).dataobj).astype(bool)
    truth = nib.load(cohort / "derivatives" / "truth" / subject / "anat" / f"{subject}_dseg.nii.gz")
    truth_mask = np.isin(np.asarray(truth.dataobj), (3, 4))
    native = dice(prediction, truth_mask)
    metrics = pd.read_csv(tiny_run / "results" / "evaluate" / "unet-segmentation-all" / "metrics.csv")
    rows = metrics[(metrics["dataset"] == "embedded") & (metrics["subject"] == subject) & (metrics["label"] == "cortex")
                   & (metrics["modality"] == "T1w") & (metrics["metric"] == "dice")]
    assert len(rows) == 1
    pipeline = float(rows["value"].iloc[0])
    assert pipeline > 0.3 and native > 0.3 and abs(native - pipeline) <= 0.05, (native, pipeline)


@pytest.mark.workflow
def test_the_native_prediction_bench_reports_each_test_subject(tiny_run, tmp_path):
    """bench/predict_native.py (docs/inference.md's table and figure) on the tiny run: a row per test subject of
    the cohort with its native Dice and the pipeline's own for that subject, class and L, and the figure."""
    from bench.predict_native import run

    table = run(tiny_run, tmp_path, "neuralizer-seen", "cortex", 2, threads=2)
    splits = read_splits(tiny_run / "results" / "splits" / "embedded.json")
    assert list(table["subject"]) == sorted(splits["test"]) and table["native_dice"].between(0, 1).all()
    metrics = pd.read_csv(tiny_run / "results" / "evaluate" / "neuralizer-seen" / "metrics.csv")
    scored = metrics.query("dataset == 'embedded' and label == 'cortex' and modality == 'T1w' and metric == 'dice' "
                           "and context_size == 2")
    scored = scored.loc[scored["subject"] == table["subject"][0], "value"]
    assert table["pipeline_dice"][0] == pytest.approx(scored.mean())
    assert np.allclose(table["difference"], table["native_dice"] - table["pipeline_dice"])
    assert pd.read_csv(tmp_path / "predict_native.csv").shape == table.shape
    assert plt.imread(tmp_path / "predict_native.png").shape[2] in (3, 4)


@pytest.mark.workflow
def test_every_job_logs_its_cpu_time_and_the_bench_sums_it_per_system(tiny_run):
    """Every job's log ends with its CPU seconds (neuroicl.core.logs), and bench/job_cpu.py groups them by system:
    each of the tiny run's trained models, the ISTN study and MetaSeg's, data and the paper's outputs."""
    from bench.job_cpu import collect, summary

    logs = sorted((tiny_run / "logs").rglob("*.log"))
    jobs = collect(tiny_run)
    assert len(jobs) == len(logs) and (jobs["cpu_s"] > 0).all()
    table = summary(jobs)
    assert {"data", "paper", "istn", "metaseg", "neuralizer", "unet"} <= set(table.index)
    assert table.loc["all", "cpu_s"] == pytest.approx(jobs["cpu_s"].sum())
    timed = jobs.dropna(subset=["bench_wall_s"])
    # the benchmark's last sample sees at most the whole job; the log misses only the interpreter's teardown, which
    # grows on a busy host (a CI run beside a 90-subject render: 1.6 CPU-s of a 6.1-s job)
    assert len(timed) > 0 and (timed["cpu_s"] >= 0.7 * timed["bench_cpu_time"] - 1.5).all(), timed


@pytest.mark.workflow
def test_retraining_from_scratch_gives_identical_metrics(root, tiny_run):
    """Same config and seed, no checkpoint to resume: the same model and byte-identical metrics."""
    metrics = tiny_run / "results" / "evaluate" / "neuralizer-seen" / "metrics.csv"
    before = metrics.read_bytes()
    model = tiny_run / "results" / "train" / "neuralizer-seen" / "model.pt"
    weights = torch.load(model, weights_only=False)["networks"][""]
    written = model.stat().st_mtime_ns
    shutil.rmtree(tiny_run / "checkpoints" / "neuralizer-seen")
    run = _snakemake(
        root,
        tiny_run,
        "results/evaluate/neuralizer-seen/metrics.csv",
        extra=("--forcerun", "results/train/neuralizer-seen/model.pt"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rules = rules_run(run.stderr)  # trained again, then scored again (and what depends on the model, rebuilt)
    assert rules[:2] == ["train_first", "evaluate_first"] and "train" not in rules
    assert model.stat().st_mtime_ns > written
    assert list((tiny_run / "checkpoints" / "neuralizer-seen").glob("*/step-00000004.pt"))  # from scratch
    again = torch.load(model, weights_only=False)["networks"][""]
    assert all(torch.equal(weights[k], again[k]) for k in weights)
    assert metrics.read_bytes() == before
