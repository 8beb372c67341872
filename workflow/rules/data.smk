# Data stage: reference anatomy → embedded cohort (synthetic subjects) → cohort QC.


rule reference_anatomy:
    input:
        unpack(get_reference_files),
    output:
        anatomy="resources/reference/anatomy.npz",
        labels="resources/reference/labels.tsv",
    log:
        "logs/data/reference_anatomy.log",
    benchmark:
        "benchmarks/data/reference_anatomy.tsv"
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
    conda:
        "../../envs/data.yaml"
    threads: 2
    params:
        cohort=config["cohort"],
    script:
        "../scripts/synth_subject.py"


rule cohort_figure:
    input:
        participants=f"resources/{DATASET}/participants.tsv",
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
