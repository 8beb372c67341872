# Paper stage: Table 4, Figs. 4 and 12 from the cached metrics; Figs. 6-8 from Neuralizer-seen's samples.


rule table4:
    input:
        metrics="results/evaluate/metrics.csv",
    output:
        csv=report(
            "results/tables/table4.csv",
            caption="../report/table4.rst",
            category="Results",
        ),
        md="results/tables/table4.md",
        tex="results/tables/table4.tex",
    log:
        "logs/tables/table4.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/table4.py"


rule performance_figure:
    input:
        metrics="results/evaluate/metrics.csv",
    output:
        pdf=report(
            "results/figures/{figure}.pdf",
            caption="../report/performance.rst",
            category="Results",
        ),
        png="results/figures/{figure}.png",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="fig4|fig12",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/performance_figure.py"


rule sample_figure:
    input:
        samples="results/evaluate/neuralizer-seen/samples.npz",
    output:
        pdf=report(
            "results/figures/{figure}.pdf",
            caption="../report/samples.rst",
            category="Results",
        ),
        png="results/figures/{figure}.png",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="fig6|fig7|fig8",
    conda:
        "../../envs/figures.yaml"
    params:
        tasks=config["tasks"]["evaluated"],
        context_pairs=config["evaluation"]["samples"]["context_pairs"],
    script:
        "../scripts/sample_figure.py"


rule claims:
    input:
        unpack(get_claims_inputs),
    output:
        csv=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Results",
        ),
        md="results/tables/claims.md",
    log:
        "logs/tables/claims.log",
    conda:
        "../../envs/figures.yaml"
    params:
        study_models=get_claims_study_models(),
        part="test",
    script:
        "../scripts/claims.py"


# The held-out check: Table 4 and the comparison's claims on the validation subjects (rule evaluate_val).
use rule table4 as table4_val with:
    input:
        metrics="results/evaluate_val/metrics.csv",
    output:
        csv="results/tables/table4_val.csv",
        md="results/tables/table4_val.md",
        tex="results/tables/table4_val.tex",
    log:
        "logs/tables/table4_val.log",


use rule claims as claims_val with:
    input:
        metrics="results/evaluate_val/metrics.csv",
    output:
        csv="results/tables/claims_val.csv",
        md="results/tables/claims_val.md",
    log:
        "logs/tables/claims_val.log",
    params:
        study_models={},
        part="val",


rule validation:
    input:
        VALIDATION_OUTPUTS,


# MetaSeg's own study (training.runs.metaseg.study; docs/models.md): its test-time fits on the study's classes.
if STUDY:

    rule metaseg_steps:
        input:
            unpack(get_dataset_inputs),
            meta=get_model_file(STUDY.studied),
            random=get_model_file(STUDY.random),
        output:
            csv="results/tables/metaseg_steps.csv",
            md="results/tables/metaseg_steps.md",
            pdf=report(
                "results/figures/metaseg_steps.pdf",
                caption="../report/metaseg.rst",
                category="MetaSeg",
            ),
            png="results/figures/metaseg_steps.png",
        log:
            "logs/tables/metaseg_steps.log",
        benchmark:
            "benchmarks/tables/metaseg_steps.tsv"
        conda:
            "../../envs/train.yaml"
        params:
            study=get_study_params(),
            steps=list(STUDY.steps),
            names={"MetaSeg": STUDY.studied, "Random init": STUDY.random},
        script:
            "../scripts/metaseg_steps.py"

    rule metaseg_ablation:
        input:
            unpack(get_dataset_inputs),
            models=[get_model_file(run) for run in STUDY.ablation_names().values()],
            steps="results/tables/metaseg_steps.csv",  # its MetaSeg and random rows at T: read, not refitted
        output:
            csv="results/tables/metaseg_ablation.csv",
            md=report(
                "results/tables/metaseg_ablation.md",
                caption="../report/metaseg.rst",
                category="MetaSeg",
            ),
        log:
            "logs/tables/metaseg_ablation.log",
        benchmark:
            "benchmarks/tables/metaseg_ablation.tsv"
        conda:
            "../../envs/train.yaml"
        params:
            study=get_study_params(),
            names=STUDY.ablation_names(),
        script:
            "../scripts/metaseg_ablation.py"

    rule metaseg_misalignment:
        input:
            unpack(get_dataset_inputs),
            metaseg=get_model_file(STUDY.studied),
            unet=get_model_file(STUDY.compared),
        output:
            csv="results/tables/metaseg_misalignment.csv",
            md="results/tables/metaseg_misalignment.md",
            pdf=report(
                "results/figures/metaseg_misalignment.pdf",
                caption="../report/metaseg.rst",
                category="MetaSeg",
            ),
            png="results/figures/metaseg_misalignment.png",
        log:
            "logs/tables/metaseg_misalignment.log",
        benchmark:
            "benchmarks/tables/metaseg_misalignment.tsv"
        conda:
            "../../envs/train.yaml"
        params:
            study=get_study_params(),
            rotations=list(STUDY.rotations),
            translations=list(STUDY.translations),
            runs={
                key: {"run": PLAN.run(name).to_dict(), "config": PLAN.run_config(name)}
                for key, name in (("metaseg", STUDY.studied), ("unet", STUDY.compared))
            },
        script:
            "../scripts/metaseg_misalignment.py"


# MVG's own outputs (docs/models.md), at one prompt: its metrics on its tasks, and its Table 5 ablation
# (training.runs.mvg.ablation: five runs trained by rule train, scored by rule evaluate at L = 1).
if MVG_STUDY:

    rule mvg_tasks:
        input:
            get_run_metrics(MVG_STUDY.task_names().values()),
        output:
            csv="results/tables/mvg_tasks.csv",
            md=report(
                "results/tables/mvg_tasks.md",
                caption="../report/mvg.rst",
                category="MVG",
            ),
        log:
            "logs/tables/mvg_tasks.log",
        benchmark:
            "benchmarks/tables/mvg_tasks.tsv"
        conda:
            "../../envs/figures.yaml"
        params:
            tasks=list(MVG_STUDY.tasks),
            names=MVG_STUDY.task_names(),
        script:
            "../scripts/mvg_tasks.py"


if MVG_ABLATION:

    rule mvg_ablation:
        input:
            get_run_metrics(MVG_STUDY.ablation_inputs()),
        output:
            csv="results/tables/mvg_ablation.csv",
            md=report(
                "results/tables/mvg_ablation.md",
                caption="../report/mvg.rst",
                category="MVG",
            ),
        log:
            "logs/tables/mvg_ablation.log",
        benchmark:
            "benchmarks/tables/mvg_ablation.tsv"
        conda:
            "../../envs/figures.yaml"
        params:
            rows=MVG_STUDY.ablation_rows(),
        script:
            "../scripts/mvg_ablation.py"
