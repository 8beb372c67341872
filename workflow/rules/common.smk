import sys
from pathlib import Path

from snakemake.utils import validate

# The library lives in src/: importable here even where the package is not installed
# (the scripts do the same for jobs in --sdm conda environments).
sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from neuroicl.data.cohort import CohortSpec, sample_participants
from neuroicl.data.reference import resolve_reference
from neuroicl.runs import catalogue
from neuroicl.splits import make_splits

validate(config, schema="../schemas/config.schema.yaml")

REFERENCE = resolve_reference(config["reference"])
COHORT = CohortSpec.from_config(config["cohort"])
DATASET = "embedded"
SUBJECTS = COHORT.subject_ids()
# The split is a pipeline output; its size is known now (same function, same participants).
N_TRAIN = len(
    make_splits(
        sample_participants(COHORT),
        config["splits"]["fractions"],
        config["splits"]["seed"],
    )["train"]
)
RUNS = catalogue(config, N_TRAIN)
RUN_BY_NAME = {run.name: run for run in RUNS}
TRAINED = [run.name for run in RUNS if run.trained]


wildcard_constraints:
    subject="|".join(SUBJECTS),
    dataset=DATASET,
    run="|".join(run.name for run in RUNS),


def get_reference_files(wildcards):
    """The reference files behind config['reference'] (packaged copies for 'builtin')."""
    return {key: str(path) for key, path in REFERENCE.items()}


def get_subject_outputs(wildcards):
    """Every file one synthesized subject consists of (images and truth)."""
    return COHORT.subject_paths(f"resources/{wildcards.dataset}", wildcards.subject)


def get_cohort_figure_subjects():
    """The first `figure_subjects_per_site` subjects of every site (sites are assigned round robin)."""
    shown = config["cohort"]["figure_subjects_per_site"] * len(COHORT.sites)
    return SUBJECTS[:shown]


def get_cohort_figure_images(wildcards):
    """Every modality of the subjects shown in the cohort figure."""
    return [
        COHORT.subject_paths(f"resources/{DATASET}", subject)[modality]
        for subject in get_cohort_figure_subjects()
        for modality in COHORT.modalities
    ]


def get_preprocess_inputs(wildcards):
    """A subject's images (every modality), its label map, and the truth files QC compares with."""
    paths = COHORT.subject_paths(f"resources/{wildcards.dataset}", wildcards.subject)
    keep = [*COHORT.modalities, "dseg", "mask", "bias", "pose"]
    return {key: paths[key] for key in keep}


def get_subject_slices(wildcards):
    """Per-subject slice files of a dataset, in subject order."""
    return expand(
        "results/preprocess/{dataset}/subjects/{subject}.npz",
        dataset=wildcards.dataset,
        subject=SUBJECTS,
    )


def get_qc_rows(wildcards):
    """Per-subject QC rows of a dataset."""
    return expand(
        "results/qc/{dataset}/{subject}.tsv",
        dataset=wildcards.dataset,
        subject=SUBJECTS,
    )


def get_slice_store(wildcards):
    """The files of the embedded dataset's slice store (a dict for `unpack`)."""
    folder = f"results/preprocess/{DATASET}/slices"
    names = ["images.npy", "mask.npy", "labels.npy", "meta.json", "index.tsv"]
    return {name.split(".")[0]: f"{folder}/{name}" for name in names}


def get_run_inputs(wildcards):
    """Slice store and splits, plus the model file when the run is trained (a dict for `unpack`)."""
    inputs = {**get_slice_store(wildcards), "splits": f"results/splits/{DATASET}.json"}
    if wildcards.run in TRAINED:
        inputs["model"] = f"results/train/{wildcards.run}/model.pt"
    return inputs


def run_params(wildcards):
    """What one run's training and evaluation read: the run and its config parts (a change reruns that run only)."""
    run = RUN_BY_NAME[wildcards.run]
    training = {
        key: value for key, value in config["training"].items() if key != "runs"
    }
    hparams = config["models"]["hyperparameters"].get(run.model, {})
    return {
        "run": run.to_dict(),
        "config": {
            "tasks": config["tasks"],
            "training": training,
            "evaluation": config["evaluation"],
            "models": {"hyperparameters": {run.model: hparams}},
            "preprocess": {"slices": config["preprocess"]["slices"]},
        },
    }


PAPER_OUTPUTS = [
    "results/metrics/all.csv",
    "results/tables/table4.csv",
    "results/tables/table4.md",
    "results/tables/table4.tex",
    "results/figures/fig4.pdf",
    "results/figures/fig4.png",
    "results/figures/fig12.pdf",
    "results/figures/fig12.png",
    *[f"results/figures/fig{n}.{ext}" for n in (6, 7, 8) for ext in ("pdf", "png")],
]


def get_final_outputs():
    """Targets of `rule all`; each pipeline stage adds its products here."""
    cohort = [
        path
        for subject in SUBJECTS
        for path in COHORT.subject_paths(f"resources/{DATASET}", subject).values()
    ]
    return [
        *cohort,
        "results/data/atlas_agreement.tsv",
        "results/figures/cohort.png",
        "results/tables/table6_model_cost.csv",
        "results/tables/table6_model_cost.md",
        f"results/preprocess/{DATASET}/slices/index.tsv",
        f"results/qc/{DATASET}_preprocess.tsv",
        f"results/splits/{DATASET}.json",
        "results/figures/tasks.png",
        "results/figures/augmentations.png",
        *PAPER_OUTPUTS,
    ]
