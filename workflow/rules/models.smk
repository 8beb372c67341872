# Models stage: size and inference cost of every predictor (Neuralizer supplement H, Table 6).


rule model_cost:
    output:
        csv="results/tables/table6_model_cost.csv",
        md="results/tables/table6_model_cost.md",
    log:
        "logs/tables/table6_model_cost.log",
    benchmark:
        "benchmarks/tables/table6_model_cost.tsv"
    conda:
        "../../envs/train.yaml"
    params:
        image_size=config["models"]["cost"]["image_size"],
        context_sizes=config["models"]["cost"]["context_sizes"],
    script:
        "../scripts/model_cost.py"
