# Data stage: reference anatomy → embedded cohort (synthetic subjects) → cohort QC; real datasets:
# registry download → unpack → adapter to the common raw layout (src/neuroicl/datasets, docs/datasets.md).


rule reference_anatomy:
    input:
        unpack(get_reference_files),
    output:
        anatomy="resources/reference/anatomy.npz",
        labels="resources/reference/labels.tsv",
    log:
        "logs/data/reference/anatomy.log",
    benchmark:
        "benchmarks/data/reference/anatomy.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        grid_mm=config["cohort"]["deformation"]["grid_mm"],
    script:
        "../scripts/reference_anatomy.py"


rule atlas_agreement:
    input:
        unpack(get_reference_files),
    output:
        "results/data/atlas_agreement.tsv",
    log:
        "logs/data/atlas_agreement.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/atlas_agreement.py"


rule participants:
    output:
        participants="resources/{dataset}/participants.tsv",
        description="resources/{dataset}/dataset_description.json",
    log:
        "logs/data/{dataset}/participants.log",
    wildcard_constraints:
        dataset=get_embedded_name(),
    conda:
        "../../envs/data.yaml"
    params:
        cohort=config["cohort"],
    script:
        "../scripts/participants.py"


rule synth_subject:
    input:
        anatomy="resources/reference/anatomy.npz",
        participants="resources/{dataset}/participants.tsv",
    output:
        **COHORT.subject_paths("resources/{dataset}", "{subject}"),
    log:
        "logs/data/{dataset}/{subject}.log",
    benchmark:
        "benchmarks/data/{dataset}/{subject}.tsv"
    wildcard_constraints:
        dataset=get_embedded_name(),
    conda:
        "../../envs/data.yaml"
    threads: 1  # a second thread saves ~10 % of its synthesis (docs/performance.md): the core serves preprocessing
    params:
        cohort=config["cohort"],
    script:
        "../scripts/synth_subject.py"


rule cohort_figure:
    input:
        participants=f"resources/{get_embedded_name()}/participants.tsv",
        images=get_cohort_figure_images,
    output:
        report(
            "results/figures/cohort.png",
            caption="../report/cohort.rst",
            category="Data",
        ),
    log:
        "logs/figures/cohort.log",
    conda:
        "../../envs/figures.yaml"
    params:
        subjects=get_cohort_figure_subjects(),
        modalities=COHORT.modalities,
    script:
        "../scripts/cohort_figure.py"


# Downloads run where Snakemake runs (cluster compute nodes often have no internet).
localrules:
    download,


# One job per registry entry (resources/datasets/registry.yaml): download, verify, unpack; the receipt
# names what was fetched. Manual entries (ADNI, UK Biobank: data-use agreements) stop with the
# registry's instructions, then validate what the user placed: `snakemake -c1 resources/downloads/adni.json`.
rule download:
    output:
        "resources/downloads/{entry}.json",
    log:
        "logs/data/downloads/{entry}.log",
    conda:
        "../../envs/data.yaml"
    params:
        registry=str(REGISTRY),
        lock=str(REGISTRY_LOCK),
    script:
        "../scripts/download.py"


# One adapter job per real dataset of `datasets:`: its archives → resources/<name>/ in the common
# layout (neuroicl.plan.layout): every subject file, participants.tsv, adapter_report.tsv.
for name in DOWNLOADED:

    rule:
        name:
            f"adapt_{name}"
        input:
            get_download_receipts(name),
        output:
            **get_adapted_files(name),
        log:
            f"logs/data/{name}/adapter_report.log",
        conda:
            "../../envs/data.yaml"
        params:
            kind=DATASETS[name].kind,
            n_subjects=DATASETS[name].n_subjects,
            registry=str(REGISTRY),
        script:
            "../scripts/adapt_dataset.py"


# One adapter job per local BIDS folder (kind: bids): `path` → resources/<name>/ in the same layout,
# with the report of what was kept or skipped and why (docs/datasets.md, "Your own BIDS dataset").
for name in LOCAL:

    rule:
        name:
            f"adapt_{name}"
        input:
            get_bids_description(name),
        output:
            **get_adapted_files(name),
        log:
            f"logs/data/{name}/adapter_report.log",
        conda:
            "../../envs/data.yaml"
        params:
            path=DATASETS[name].path,
            n_subjects=DATASETS[name].n_subjects,
            modalities=list(DATASETS[name].modalities),
            labelled=DATASETS[name].labelled,
        script:
            "../scripts/adapt_bids.py"
