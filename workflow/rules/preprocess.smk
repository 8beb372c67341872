# Preprocessing stage: MNI affine registration, skull strip, N4, normalization → 2D slice store; QC.


rule model_grid_template:
    input:
        unpack(get_reference_files),
    output:
        "results/preprocess/model_grid_template.npz",
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
        template="results/preprocess/model_grid_template.npz",
        participants="resources/{dataset}/participants.tsv",
    output:
        slices="results/preprocess/{dataset}/subjects/{subject}.npz",
        transform="results/preprocess/{dataset}/transforms/{subject}_native_to_mni.json",
        figure="results/preprocess/{dataset}/qc/{subject}.png",
        row="results/preprocess/{dataset}/qc/{subject}.tsv",
    log:
        "logs/preprocess/{dataset}/subjects/{subject}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}/subjects/{subject}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    params:
        preprocess=config["preprocess"],
        modalities=get_dataset_modalities,
        files=get_subject_files,
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
        "logs/preprocess/{dataset}/slices.log",
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
        "results/preprocess/{dataset}/qc.tsv",
    log:
        "logs/preprocess/{dataset}/qc.log",
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/qc_table.py"
