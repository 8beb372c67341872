# Paper stage: Table 4, Figs. 4 and 12 from the cached metrics; Figs. 6-8 from Neuralizer-seen's samples.


rule table4:
    input:
        metrics="results/metrics/all.csv",
    output:
        csv=report(
            "results/tables/table4.csv",
            caption="../report/table4.rst",
            category="Results",
        ),
        md="results/tables/table4.md",
        tex="results/tables/table4.tex",
    log:
        "logs/paper/table4.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/table4.py"


rule performance_figure:
    input:
        metrics="results/metrics/all.csv",
    output:
        pdf=report(
            "results/figures/{figure}.pdf",
            caption="../report/performance.rst",
            category="Results",
        ),
        png="results/figures/{figure}.png",
    log:
        "logs/paper/{figure}.log",
    wildcard_constraints:
        figure="fig4|fig12",
    conda:
        "../../envs/figures.yaml"
    params:
        modality=lambda wildcards: "T1w" if wildcards.figure == "fig12" else None,
        title=lambda wildcards: (
            "T1w input only" if wildcards.figure == "fig12" else "All modalities"
        ),
    script:
        "../scripts/performance_figure.py"


rule sample_figures:
    input:
        samples="results/evaluation/neuralizer-seen/samples.npz",
    output:
        fig6=report(
            "results/figures/fig6.pdf",
            caption="../report/samples.rst",
            category="Results",
        ),
        fig7=report(
            "results/figures/fig7.pdf",
            caption="../report/samples.rst",
            category="Results",
        ),
        fig8=report(
            "results/figures/fig8.pdf",
            caption="../report/samples.rst",
            category="Results",
        ),
        png6="results/figures/fig6.png",
        png7="results/figures/fig7.png",
        png8="results/figures/fig8.png",
    log:
        "logs/paper/sample_figures.log",
    conda:
        "../../envs/figures.yaml"
    params:
        tasks=config["tasks"]["evaluated"],
        context_pairs=config["evaluation"]["samples"]["context_pairs"],
    script:
        "../scripts/sample_figures.py"
