# Splits stage: subject-level train/val/test split of every dataset, stratified by site.


rule splits:
    input:
        participants="resources/{dataset}/participants.tsv",
    output:
        "results/splits/{dataset}.json",
    log:
        "logs/splits/{dataset}.log",
    conda:
        "../../envs/preprocess.yaml"
    params:
        splits=config["splits"],
    script:
        "../scripts/splits.py"
