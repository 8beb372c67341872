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
