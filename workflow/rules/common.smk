import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

try:  # the torch-free plan (neuroicl.plan): building the DAG imports no science stack
    from neuroicl.plan.datasets import MANUAL_ENTRIES, check_local_folders
    from neuroicl.plan.experiment import Plan
    from neuroicl.plan.istn_study import ISTNStudy
    from neuroicl.plan.reference import resolve_reference
    from neuroicl.plan.runs import model_file
    from neuroicl.plan.runtime import job_environment
except ImportError as error:
    raise WorkflowError(
        f"the neuroicl package is not installed where Snakemake runs ({error}); from the repository root run "
        "`pip install -e .` (or `pip install --no-deps -e .` into an environment that already has Snakemake)"
    ) from error

validate(config, schema="../schemas/config.schema.yaml")

# Every job inherits this process's environment: glibc malloc keeps freed tensors' memory for the next step
# instead of unmapping it (src/neuroicl/plan/runtime.py; a value already set wins).
os.environ.update(job_environment(os.environ))

PLAN = Plan.from_config(config)
REFERENCE = resolve_reference(config["reference"])
COHORT = PLAN.cohort
DATASETS = PLAN.datasets
EMBEDDED = PLAN.embedded
REAL = PLAN.real
# Your own BIDS folders (kind: bids): adapted from `path`, nothing downloaded; a missing folder stops here.
LOCAL = [name for name in REAL if DATASETS[name].path is not None]
DOWNLOADED = [name for name in REAL if name not in LOCAL]
check_local_folders(list(DATASETS.values()))
SUBJECTS = PLAN.subjects
RUNS = PLAN.runs
# The long training jobs as a wildcard pattern ("(?!)" matches nothing); Neuralizer-seen's goes to train_first
# (ruleorder).
LONG_RUNS = "|".join(re.escape(name) for name in PLAN.long_runs) or "(?!)"
STORE_FILES = ["images.npy", "mask.npy", "labels.npy", "meta.json", "index.tsv"]
# The dataset registry and its lock file are committed with the workflow (not per working directory).
REGISTRY = Path(workflow.basedir).parent / "resources" / "datasets" / "registry.yaml"
REGISTRY_LOCK = REGISTRY.with_name("registry.lock.yaml")


wildcard_constraints:
    subject="|".join(sorted({s for ids in SUBJECTS.values() for s in ids})),
    dataset="|".join(DATASETS),
    run="|".join(run.name for run in PLAN.every_run),
    entry="|".join([*PLAN.archives, *MANUAL_ENTRIES]),


def get_reference_files(wildcards):
    """The reference files behind config['reference'] (packaged copies for 'builtin')."""
    return {key: str(path) for key, path in REFERENCE.items()}


def get_embedded_name():
    """The embedded cohort's dataset name ("embedded" if the run has none): the rules that synthesize
    it are constrained to it, so they never claim a real dataset's files."""
    return "|".join(EMBEDDED) or "embedded"


def get_adapted_files(name):
    """The files of real dataset `name` its adapter job declares. The adapter writes every subject's
    files too (the layout contract, neuroicl.plan.layout), all or nothing, replacing the folder whole:
    they are not listed one by one, which would cost seconds in every DAG build of the paper config.
    """
    return {
        "participants": f"resources/{name}/participants.tsv",
        "description": f"resources/{name}/dataset_description.json",
        "report": f"resources/{name}/adapter_report.tsv",
    }


def get_download_receipts(name):
    """The download receipts of the registry entries a real dataset's adapter reads."""
    return [f"resources/downloads/{entry}.json" for entry in DATASETS[name].archives]


def get_bids_description(name):
    """The dataset_description.json BIDS requires at the root of local dataset `name` (its adapter's input)."""
    return f"{DATASETS[name].path}/dataset_description.json"


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


def get_subject_files(wildcards):
    """A subject's images (its dataset's modalities), its label map where the dataset has one, and the
    truth files QC compares with (the embedded cohort only)."""
    spec = DATASETS[wildcards.dataset]
    if wildcards.subject not in SUBJECTS[spec.name]:
        raise ValueError(
            f"{wildcards.subject} is not a subject of dataset {spec.name} ({spec.n_subjects} subjects)"
        )
    paths = PLAN.subject_paths(spec.name, wildcards.subject)
    keep = [*spec.modalities, *(["dseg"] if spec.labelled else [])]
    keep += ["mask", "bias", "pose"] if spec.truth else []
    return {key: paths[key] for key in keep}


def get_preprocess_inputs(wildcards):
    """What a subject's preprocessing waits for: its files (the embedded cohort: one synthesis job per
    subject), or its dataset's adapter report (a real dataset: one adapter job writes every subject).
    """
    spec = DATASETS[wildcards.dataset]
    if spec.real:
        return {"adapted": f"resources/{spec.name}/adapter_report.tsv"}
    return get_subject_files(wildcards)


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
        "results/preprocess/{dataset}/qc/{subject}.tsv",
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
    """Every dataset's slice store and split, plus the model file when the run has one (trained or converted from
    released weights; for `unpack`)."""
    inputs = get_dataset_inputs(wildcards)
    if PLAN.run(wildcards.run).has_model_file:
        inputs["model"] = f"results/train/{wildcards.run}/model.pt"
    return inputs


# The runs whose model file is converted from released weights (rule released_weights), as a wildcard pattern.
RELEASED_RUNS = "|".join(re.escape(name) for name in PLAN.released) or "(?!)"


def get_released_receipt(wildcards):
    """The download receipt of the released weights run `run` is converted from."""
    return f"resources/downloads/{PLAN.run(wildcards.run).weights_from}.json"


def get_run(wildcards):
    """The run of the job, as plain values (neuroicl.plan.runs.Run.to_dict)."""
    return PLAN.run(wildcards.run).to_dict()


def get_start_input(wildcards):
    """The model file whose shared start the run continues from (MetaSeg's image-only ablation), if any."""
    start = PLAN.run(wildcards.run).settings.get("start_from")
    return {"start": start} if start else {}


def get_run_config(wildcards):
    """The config parts the run reads (a change elsewhere reruns no run)."""
    return PLAN.run_config(wildcards.run)


def get_metrics_tables(wildcards):
    """Every run's metrics table, in catalogue order."""
    return [f"results/evaluate/{run.name}/metrics.csv" for run in RUNS]


#: Every run's metrics table on the validation subjects (jobs of evaluate_val), in catalogue order.
VAL_METRICS_TABLES = [f"results/evaluate_val/{run.name}/metrics.csv" for run in RUNS]

#: The held-out check, target `validation` (not in `all`). Table 4 and the comparison's claims on the validation split.
VALIDATION_OUTPUTS = [
    "results/tables/table4_val.csv",
    "results/tables/table4_val.md",
    "results/tables/table4_val.tex",
    "results/tables/claims_val.csv",
    "results/tables/claims_val.md",
]


PAPER_OUTPUTS = [
    "results/evaluate/metrics.csv",
    "results/tables/table4.csv",
    "results/tables/table4.md",
    "results/tables/table4.tex",
    "results/tables/claims.csv",
    "results/tables/claims.md",
    *[
        f"results/figures/fig{n}.{ext}"
        for n in (4, 12, 6, 7, 8)
        for ext in ("pdf", "png")
    ],
]


def get_final_outputs(wildcards):
    """Targets of `rule all`; each pipeline stage adds its products here.

    Evaluated while Snakemake builds the DAG, when it knows whether this is a dry run: a dry run in
    the main process (not a cluster job) first prints the GPU-hour estimate (neuroicl.plan.summary).
    """
    if workflow.dryrun and workflow.is_main_process:
        print_dry_run_summary()
    cohort = [
        path
        for name in EMBEDDED
        for subject in SUBJECTS[name]
        for path in PLAN.subject_paths(name, subject).values()
    ]
    per_dataset = [
        path
        for name in DATASETS
        for path in (
            f"results/preprocess/{name}/slices/index.tsv",
            f"results/preprocess/{name}/qc.tsv",
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
        *STUDY_OUTPUTS,
        *MVG_OUTPUTS,
        *ISTN_OUTPUTS,
    ]


def print_dry_run_summary():
    """Print the estimated GPU-hours of the training and evaluation jobs (bench/throughput.yaml)."""
    throughput = Path(workflow.basedir).parent / "bench" / "throughput.yaml"
    print(PLAN.summary(throughput), file=sys.stderr)


STUDY = PLAN.study  # MetaSeg's own study (training.runs.metaseg.study), or None


def get_model_file(run):
    """The model file of trained run `run`."""
    return model_file(run)


def get_study_params():
    """What every study script reads: the studied run's config parts and the study's settings."""
    return {
        "config": PLAN.run_config(STUDY.studied),
        "datasets": list(DATASETS),
        "labels": list(STUDY.labels),
        "repeats": STUDY.repeats,
    }


STUDY_OUTPUTS = (
    [
        *[
            f"results/tables/metaseg_{name}.{ext}"
            for name in ("steps", "ablation", "misalignment")
            for ext in ("csv", "md")
        ],
        *[
            f"results/figures/metaseg_{name}.{ext}"
            for name in ("steps", "misalignment")
            for ext in ("pdf", "png")
        ],
    ]
    if STUDY
    else []
)


MVG_STUDY = PLAN.mvg_study  # MVG's own outputs (with the run mvg), or None
MVG_ABLATION = bool(MVG_STUDY and MVG_STUDY.ablation_runs)  # training.runs.mvg.ablation

MVG_TABLES = (["tasks"] if MVG_STUDY else []) + (["ablation"] if MVG_ABLATION else [])
MVG_OUTPUTS = [
    f"results/tables/mvg_{name}.{ext}" for name in MVG_TABLES for ext in ("csv", "md")
]


def get_run_metrics(runs):
    """The metrics tables of `runs` (each run's own, results/evaluate/<run>/metrics.csv)."""
    return [f"results/evaluate/{run}/metrics.csv" for run in runs]


def get_claims_inputs(wildcards):
    """The metrics table, and the MetaSeg and MVG tables where the config has them."""
    inputs = {"metrics": "results/evaluate/metrics.csv"}
    if STUDY:
        inputs |= {
            "metaseg_steps": "results/tables/metaseg_steps.csv",
            "metaseg_ablation": "results/tables/metaseg_ablation.csv",
        }
    if MVG_STUDY:
        inputs["mvg_tasks"] = "results/tables/mvg_tasks.csv"
    if MVG_ABLATION:
        inputs["mvg_ablation"] = "results/tables/mvg_ablation.csv"
    if ISTN:
        inputs["istn"] = "results/tables/istn.csv"
    return inputs


def get_claims_study_models():
    """The model names the study's claims compare (their values in the study tables' model column)."""
    if not STUDY:
        return {}
    return {
        "meta": STUDY.studied,
        "random": STUDY.random,
        "image_only": STUDY.image_only,
    }


# ISTN's own study (config block istn; workflow/rules/istn.smk).

ISTN = ISTNStudy.of(config, DATASETS, COHORT)  # or None without an istn block
ISTN_OUTPUTS = (
    [
        "results/tables/istn.csv",
        "results/tables/istn.md",
        "results/figures/istn.pdf",
        "results/figures/istn.png",
    ]
    if ISTN
    else []
)


def get_istn_inputs(wildcards):
    """The study dataset's slice store (`index` its index.tsv), split and participants table (for `unpack`)."""
    name = ISTN.dataset
    return {
        "store": [f"results/preprocess/{name}/slices/{file}" for file in STORE_FILES],
        "index": f"results/preprocess/{name}/slices/index.tsv",
        "splits": f"results/splits/{name}.json",
        "participants": f"resources/{name}/participants.tsv",
    }


def get_istn_adapt_inputs(wildcards):
    """An adaptation's data, and T_S of its source site when an init is fine-tuned from it."""
    inputs = get_istn_inputs(wildcards)
    if "finetune" in ISTN.inits():
        source, _ = ISTN.pair(wildcards.pair)
        inputs["source"] = ISTN.source_model(wildcards.task, source)
    return inputs


def get_istn_evaluate_inputs(wildcards):
    """A task and pair's data, T_S and every adapted model (`adapted` in variant order)."""
    source, _ = ISTN.pair(wildcards.pair)
    inputs = get_istn_inputs(wildcards)
    inputs["source"] = ISTN.source_model(wildcards.task, source)
    inputs["adapted"] = [
        ISTN.adapted_model(
            wildcards.task, wildcards.pair, variant.adaptation, variant.init
        )
        for variant in ISTN.variants
    ]
    return inputs


def get_istn_figure_inputs(wildcards):
    """The data and the adapted model of each ISTN mode the figure shows (`models` in mode order)."""
    return get_istn_inputs(wildcards) | {"models": list(ISTN.figure_models().values())}
