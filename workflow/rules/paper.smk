# Paper stage: Table 4, Figs. 4 and 12 from the cached metrics; Figs. 6-8 from Neuralizer-seen's samples.


rule table4:
    input:
        metrics="results/evaluate/metrics.csv",
    output:
        csv=report(
            "results/tables/table4.csv",
            caption="../report/table4.rst",
            category="Results",
        ),
        md="results/tables/table4.md",
        tex="results/tables/table4.tex",
    log:
        "logs/tables/table4.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/table4.py"


rule performance_figure:
    input:
        metrics="results/evaluate/metrics.csv",
    output:
        pdf=report(
            "results/figures/{figure}.pdf",
            caption="../report/performance.rst",
            category="Results",
        ),
        png="results/figures/{figure}.png",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="fig4|fig12",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/performance_figure.py"


rule sample_figure:
    input:
        samples="results/evaluate/neuralizer-seen/samples.npz",
    output:
        pdf=report(
            "results/figures/{figure}.pdf",
            caption="../report/samples.rst",
            category="Results",
        ),
        png="results/figures/{figure}.png",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="fig6|fig7|fig8",
    conda:
        "../../envs/figures.yaml"
    params:
        tasks=config["tasks"]["evaluated"],
        context_pairs=config["evaluation"]["samples"]["context_pairs"],
    script:
        "../scripts/sample_figure.py"


rule claims:
    input:
        metrics="results/evaluate/metrics.csv",
    output:
        csv=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Results",
        ),
        md="results/tables/claims.md",
    log:
        "logs/tables/claims.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/claims.py"
