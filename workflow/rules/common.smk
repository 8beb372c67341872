import sys
from pathlib import Path

from snakemake.utils import validate

# The library lives in src/: importable here even where the package is not installed
# (the scripts do the same for jobs in --sdm conda environments).
sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from neuroicl.data.cohort import CohortSpec
from neuroicl.data.reference import resolve_reference
from neuroicl.data.sources import (
    MANUAL_ENTRIES,
    datasets_from_config,
    planned_train_count,
)
from neuroicl.runs import catalogue
from neuroicl.summary import config_summary

validate(config, schema="../schemas/config.schema.yaml")

REFERENCE = resolve_reference(config["reference"])
COHORT = CohortSpec.from_config(config["cohort"])
# The datasets of the run (config `datasets:`), in order (a task figure shows the first that can pose the task).
DATASETS = {spec.name: spec for spec in datasets_from_config(config, COHORT)}
EMBEDDED = [name for name, spec in DATASETS.items() if not spec.real]
REAL = [name for name, spec in DATASETS.items() if spec.real]
SUBJECTS = {name: spec.subject_ids() for name, spec in DATASETS.items()}
ARCHIVES = sorted({entry for name in REAL for entry in DATASETS[name].archives})
# Splits are pipeline outputs; their training sizes are known now (the cohort: exactly, by the same
# function on the same participants; real datasets: planned from n_subjects, see planned_train_count).
# U-Net subject counts k are drawn from the pooled training subjects of every dataset.
N_TRAIN = sum(
    planned_train_count(spec, config["splits"], COHORT) for spec in DATASETS.values()
)
RUNS = catalogue(config, N_TRAIN)
RUN_BY_NAME = {run.name: run for run in RUNS}
TRAINED = [run.name for run in RUNS if run.trained]
STORE_FILES = ["images.npy", "mask.npy", "labels.npy", "meta.json", "index.tsv"]
# The dataset registry and its lock file are committed with the workflow (not per working directory).
REGISTRY = Path(workflow.basedir).parent / "resources" / "datasets" / "registry.yaml"
REGISTRY_LOCK = REGISTRY.with_name("registry.lock.yaml")


wildcard_constraints:
    subject="|".join(sorted({s for ids in SUBJECTS.values() for s in ids})),
    dataset="|".join(DATASETS),
    run="|".join(run.name for run in RUNS),
    entry="|".join([*ARCHIVES, *MANUAL_ENTRIES]),


def get_reference_files(wildcards):
    """The reference files behind config['reference'] (packaged copies for 'builtin')."""
    return {key: str(path) for key, path in REFERENCE.items()}


def get_subject_outputs(wildcards):
    """Every file one synthesized subject consists of (images and truth)."""
    return COHORT.subject_paths(f"resources/{wildcards.dataset}", wildcards.subject)


def get_embedded_name():
    """The embedded cohort's dataset name ("embedded" if the run has none): the rules that synthesize
    it are constrained to it, so they never claim a real dataset's files."""
    return "|".join(EMBEDDED) or "embedded"


def get_adapted_files(name):
    """Every file the adapter of real dataset `name` writes (the layout contract, neuroicl.datasets.layout)."""
    spec = DATASETS[name]
    files = {
        "participants": f"resources/{name}/participants.tsv",
        "description": f"resources/{name}/dataset_description.json",
        "report": f"resources/{name}/adapter_report.tsv",
    }
    for subject in SUBJECTS[name]:
        for key, path in spec.subject_paths(f"resources/{name}", subject).items():
            files[f"{subject}_{key}"] = path
    return files


def get_download_receipts(name):
    """The download receipts of the registry entries a real dataset's adapter reads."""
    return [f"resources/downloads/{entry}.json" for entry in DATASETS[name].archives]


def get_cohort_figure_subjects():
    """The first `figure_subjects_per_site` subjects of every site (sites are assigned round robin)."""
    shown = config["cohort"]["figure_subjects_per_site"] * len(COHORT.sites)
    return COHORT.subject_ids()[:shown]


def get_cohort_figure_images(wildcards):
    """Every modality of the subjects shown in the cohort figure."""
    return [
        COHORT.subject_paths(f"resources/{EMBEDDED[0]}", subject)[modality]
        for subject in get_cohort_figure_subjects()
        for modality in COHORT.modalities
    ]


def get_dataset_modalities(wildcards):
    """The modalities of a dataset, in channel order."""
    return list(DATASETS[wildcards.dataset].modalities)


def get_preprocess_inputs(wildcards):
    """A subject's images (its dataset's modalities), its label map where the dataset has one, and the
    truth files QC compares with (the embedded cohort only)."""
    spec = DATASETS[wildcards.dataset]
    if wildcards.subject not in SUBJECTS[spec.name]:
        raise ValueError(
            f"{wildcards.subject} is not a subject of dataset {spec.name} ({spec.n_subjects} subjects)"
        )
    paths = spec.subject_paths(f"resources/{spec.name}", wildcards.subject, COHORT)
    keep = [*spec.modalities, *(["dseg"] if spec.labelled else [])]
    keep += ["mask", "bias", "pose"] if spec.truth else []
    return {key: paths[key] for key in keep}


def get_subject_slices(wildcards):
    """Per-subject slice files of a dataset, in subject order."""
    return expand(
        "results/preprocess/{dataset}/subjects/{subject}.npz",
        dataset=wildcards.dataset,
        subject=SUBJECTS[wildcards.dataset],
    )


def get_qc_rows(wildcards):
    """Per-subject QC rows of a dataset."""
    return expand(
        "results/qc/{dataset}/{subject}.tsv",
        dataset=wildcards.dataset,
        subject=SUBJECTS[wildcards.dataset],
    )


def get_dataset_inputs(wildcards):
    """Every dataset's slice store (files in dataset order; `index` their index.tsv) and split (a dict for `unpack`)."""
    return {
        "store": [
            f"results/preprocess/{name}/slices/{file}"
            for name in DATASETS
            for file in STORE_FILES
        ],
        "index": [f"results/preprocess/{name}/slices/index.tsv" for name in DATASETS],
        "splits": [f"results/splits/{name}.json" for name in DATASETS],
    }


def get_run_inputs(wildcards):
    """Every dataset's slice store and split, plus the model file when the run is trained (for `unpack`)."""
    inputs = get_dataset_inputs(wildcards)
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


def get_final_outputs(wildcards):
    """Targets of `rule all`; each pipeline stage adds its products here.

    Evaluated while Snakemake builds the DAG, when it knows whether this is a dry run: a dry run in
    the main process (not a cluster job) first prints the GPU-hour estimate (neuroicl.summary).
    """
    if workflow.dryrun and workflow.is_main_process:
        print_dry_run_summary()
    cohort = [
        path
        for name in EMBEDDED
        for subject in SUBJECTS[name]
        for path in COHORT.subject_paths(f"resources/{name}", subject).values()
    ]
    per_dataset = [
        path
        for name in DATASETS
        for path in (
            f"results/preprocess/{name}/slices/index.tsv",
            f"results/qc/{name}_preprocess.tsv",
            f"results/splits/{name}.json",
        )
    ]
    return [
        *cohort,
        *(["results/figures/cohort.png"] if EMBEDDED else []),
        "results/data/atlas_agreement.tsv",
        "results/tables/table6_model_cost.csv",
        "results/tables/table6_model_cost.md",
        *per_dataset,
        "results/figures/tasks.png",
        "results/figures/augmentations.png",
        *PAPER_OUTPUTS,
    ]


def print_dry_run_summary():
    """Print the estimated GPU-hours of the training and evaluation jobs (bench/throughput.yaml)."""
    throughput = Path(workflow.basedir).parent / "bench" / "throughput.yaml"
    datasets = list(DATASETS.values())
    print(config_summary(config, datasets, RUNS, COHORT, throughput), file=sys.stderr)
