# Training stage: one job per run of the comparison (src/neuroicl/plan/runs.py, docs/training.md).
# Checkpoints live in checkpoints/<run>/<fingerprint>/ (not an output): a rerun resumes.
# A job given the resource gpu > 1 trains with DDP in that many processes (docs/training.md).


rule train:
    input:
        unpack(get_dataset_inputs),
        unpack(get_start_input),
    output:
        model="results/train/{run}/model.pt",
        log="results/train/{run}/log.csv",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["training"]["threads"]
    params:
        run=get_run,
        config=get_run_config,
        datasets=list(DATASETS),
        checkpoints="checkpoints",
    script:
        "../scripts/train.py"


# Neuralizer-seen is the longest job and the demo's critical path: it starts first.
use rule train as train_first with:
    wildcard_constraints:
        run="neuralizer-seen",
    priority: 10


# The other long jobs (PLAN.long_runs) start next, so that the short ones fill both cores at the end.
use rule train as train_long with:
    wildcard_constraints:
        run=LONG_RUNS,
    priority: 5


ruleorder: train_first > train_long > train


# A run of released weights (training.runs.neuralizer_released) is not trained: its model file is the authors'
# checkpoint, downloaded by rule download and mapped onto our model (src/neuroicl/models/released.py).
rule released_weights:
    input:
        get_released_receipt,
    output:
        model="results/train/{run}/model.pt",
    log:
        "logs/train/{run}.log",
    wildcard_constraints:
        run=RELEASED_RUNS,
    conda:
        "../../envs/train.yaml"
    params:
        run=get_run,
    script:
        "../scripts/released_weights.py"


ruleorder: released_weights > train
