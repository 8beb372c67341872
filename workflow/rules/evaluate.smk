# Evaluation stage: every run scored on the same test targets and contexts (src/neuroicl/evaluation).


rule evaluate:
    input:
        unpack(get_run_inputs),
    output:
        metrics="results/metrics/{run}.csv",
        samples="results/evaluation/{run}/samples.npz",
    log:
        "logs/evaluate/{run}.log",
    benchmark:
        "benchmarks/evaluate/{run}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["training"]["threads"]
    params:
        run=lambda wildcards: run_params(wildcards)["run"],
        config=lambda wildcards: run_params(wildcards)["config"],
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
        expand("results/metrics/{run}.csv", run=[run.name for run in RUNS]),
    output:
        "results/metrics/all.csv",
    log:
        "logs/evaluate/collect_metrics.log",
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/collect_metrics.py"
