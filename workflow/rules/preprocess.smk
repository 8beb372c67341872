# Preprocessing stage: MNI affine registration, skull strip, N4, normalization → 2D slice store; QC; splits.


rule model_grid_template:
    input:
        unpack(get_reference_files),
    output:
        "resources/reference/model_grid_template.npz",
    log:
        "logs/preprocess/model_grid_template.log",
    conda:
        "../../envs/preprocess.yaml"
    params:
        preprocess=config["preprocess"],
    script:
        "../scripts/model_grid_template.py"


rule preprocess_subject:
    input:
        unpack(get_preprocess_inputs),
        template="resources/reference/model_grid_template.npz",
        participants="resources/{dataset}/participants.tsv",
    output:
        slices="results/preprocess/{dataset}/subjects/{subject}.npz",
        transform="results/preprocess/{dataset}/transforms/{subject}_native_to_mni.json",
        figure="results/qc/{dataset}/{subject}.png",
        row="results/qc/{dataset}/{subject}.tsv",
    log:
        "logs/preprocess/{dataset}/{subject}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}/{subject}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    params:
        preprocess=config["preprocess"],
        modalities=get_dataset_modalities,
    script:
        "../scripts/preprocess_subject.py"


rule slice_store:
    input:
        slices=get_subject_slices,
        participants="resources/{dataset}/participants.tsv",
    output:
        images="results/preprocess/{dataset}/slices/images.npy",
        mask="results/preprocess/{dataset}/slices/mask.npy",
        labels="results/preprocess/{dataset}/slices/labels.npy",
        meta="results/preprocess/{dataset}/slices/meta.json",
        index="results/preprocess/{dataset}/slices/index.tsv",
    log:
        "logs/preprocess/{dataset}/slice_store.log",
    conda:
        "../../envs/preprocess.yaml"
    params:
        modalities=get_dataset_modalities,
    script:
        "../scripts/slice_store.py"


rule qc_table:
    input:
        get_qc_rows,
    output:
        "results/qc/{dataset}_preprocess.tsv",
    log:
        "logs/preprocess/{dataset}/qc_table.log",
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/qc_table.py"


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
