# ISTN's own study (config block istn; src/neuroicl/plan/istn_study.py, docs/models.md): image-level domain
# adaptation between the sites of one dataset. T_S per task and source site; one adaptation (an ISTN and the task
# models of every init) per task, pair, mode and direction; scores per task and pair; Tables 2-3 and Figs. 3-4.
# Checkpoints: checkpoints/istn/ (a rerun resumes); helpers: the ISTN block of common.smk.


if ISTN:

    rule istn_source:
        input:
            unpack(get_istn_inputs),
        output:
            model="results/train/istn/{dataset}/{task}/{site}/source/model.pt",
            log="results/train/istn/{dataset}/{task}/{site}/source/log.csv",
        log:
            "logs/train/istn/{dataset}/{task}/{site}/source.log",
        benchmark:
            "benchmarks/train/istn/{dataset}/{task}/{site}/source.tsv"
        wildcard_constraints:
            dataset=ISTN.dataset,
            task="|".join(ISTN.tasks),
            site="|".join(ISTN.sources()),
        conda:
            "../../envs/train.yaml"
        threads: config["training"]["threads"]
        params:
            study=ISTN.to_dict(),
            checkpoints="checkpoints",
        script:
            "../scripts/istn_source.py"

    rule istn_adapt:
        input:
            unpack(get_istn_adapt_inputs),
        output:
            models=expand(
                "results/train/istn/{{dataset}}/{{task}}/{{pair}}/{{adaptation}}/{init}.pt",
                init=ISTN.inits(),
            ),
            log="results/train/istn/{dataset}/{task}/{pair}/{adaptation}/log.csv",
        log:
            "logs/train/istn/{dataset}/{task}/{pair}/{adaptation}.log",
        benchmark:
            "benchmarks/train/istn/{dataset}/{task}/{pair}/{adaptation}.tsv"
        wildcard_constraints:
            dataset=ISTN.dataset,
            task="|".join(ISTN.tasks),
            pair="|".join(ISTN.pair_names()),
            adaptation="|".join(re.escape(name) for name in ISTN.adaptations()),
        conda:
            "../../envs/train.yaml"
        threads: config["training"]["threads"]
        params:
            study=ISTN.to_dict(),
            inits=ISTN.inits(),
            checkpoints="checkpoints",
        script:
            "../scripts/istn_adapt.py"

    rule istn_evaluate:
        input:
            unpack(get_istn_evaluate_inputs),
        output:
            "results/evaluate/istn/{dataset}/{task}/{pair}/scores.csv",
        log:
            "logs/evaluate/istn/{dataset}/{task}/{pair}/scores.log",
        benchmark:
            "benchmarks/evaluate/istn/{dataset}/{task}/{pair}/scores.tsv"
        wildcard_constraints:
            dataset=ISTN.dataset,
            task="|".join(ISTN.tasks),
            pair="|".join(ISTN.pair_names()),
        conda:
            "../../envs/train.yaml"
        threads: config["training"]["threads"]
        params:
            study=ISTN.to_dict(),
        script:
            "../scripts/istn_evaluate.py"

    rule istn_table:
        input:
            ISTN.every_scores(),
        output:
            csv="results/tables/istn.csv",
            md=report(
                "results/tables/istn.md",
                caption="../report/istn.rst",
                category="ISTN",
            ),
        log:
            "logs/tables/istn.log",
        benchmark:
            "benchmarks/tables/istn.tsv"
        conda:
            "../../envs/figures.yaml"
        script:
            "../scripts/istn_table.py"

    rule istn_figure:
        input:
            unpack(get_istn_figure_inputs),
        output:
            pdf=report(
                "results/figures/istn.pdf",
                caption="../report/istn.rst",
                category="ISTN",
            ),
            png="results/figures/istn.png",
        log:
            "logs/figures/istn.log",
        benchmark:
            "benchmarks/figures/istn.tsv"
        conda:
            "../../envs/train.yaml"
        params:
            study=ISTN.to_dict(),
            modes=list(ISTN.figure_models()),
        script:
            "../scripts/istn_figure.py"
