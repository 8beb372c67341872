# Evaluation stage: every run scored on the same test targets and contexts (src/neuroicl/evaluation).


rule evaluate:
    input:
        unpack(get_run_inputs),
    output:
        metrics="results/evaluate/{run}/metrics.csv",
        samples="results/evaluate/{run}/samples.npz",
    log:
        "logs/evaluate/{run}.log",
    benchmark:
        "benchmarks/evaluate/{run}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["training"]["threads"]
    params:
        run=get_run,
        config=get_run_config,
        datasets=list(DATASETS),
        part="test",
    script:
        "../scripts/evaluate.py"


# Neuralizer-seen's evaluation is on the critical path too.
use rule evaluate as evaluate_first with:
    wildcard_constraints:
        run="neuralizer-seen",
    priority: 10


ruleorder: evaluate_first > evaluate


rule collect_metrics:
    input:
        get_metrics_tables,
    output:
        "results/evaluate/metrics.csv",
    log:
        "logs/evaluate/metrics.log",
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/collect_metrics.py"


# The held-out check (docs/training.md): every run scored on the validation subjects, whose scores chose no setting
# but MetaSeg's shared start.
# Not part of `all`; `snakemake -c2 validation` builds it after (or with) the main run.
use rule evaluate as evaluate_val with:
    output:
        metrics="results/evaluate_val/{run}/metrics.csv",
        samples="results/evaluate_val/{run}/samples.npz",
    log:
        "logs/evaluate_val/{run}.log",
    benchmark:
        "benchmarks/evaluate_val/{run}.tsv"
    params:
        run=get_run,
        config=get_run_config,
        datasets=list(DATASETS),
        part="val",


use rule collect_metrics as collect_metrics_val with:
    input:
        VAL_METRICS_TABLES,
    output:
        "results/evaluate_val/metrics.csv",
    log:
        "logs/evaluate_val/metrics.log",
