# Tasks stage: examples of every task and of every task augmentation (Neuralizer supplement C, G).
# Every dataset feeds them: each task is shown on the first dataset that can pose it (neuroicl.tasks.examples).


rule task_examples:
    input:
        unpack(get_dataset_inputs),
    output:
        report(
            "results/figures/tasks.png",
            caption="../report/tasks.rst",
            category="Tasks",
        ),
    log:
        "logs/figures/tasks.log",
    conda:
        "../../envs/train.yaml"
    params:
        tasks=config["tasks"],
        slice_axis=config["preprocess"]["slices"]["axis"],
        datasets=list(DATASETS),
    script:
        "../scripts/task_examples.py"


rule augmentation_examples:
    input:
        unpack(get_dataset_inputs),
    output:
        report(
            "results/figures/augmentations.png",
            caption="../report/augmentations.rst",
            category="Tasks",
        ),
    log:
        "logs/figures/augmentations.log",
    conda:
        "../../envs/train.yaml"
    params:
        tasks=config["tasks"],
        slice_axis=config["preprocess"]["slices"]["axis"],
        datasets=list(DATASETS),
    script:
        "../scripts/augmentation_examples.py"
