"""The claims tables of several finished workflows side by side: does a verdict replicate across seeds or cohorts?

Reads ``results/tables/claims.csv`` (``--val``: ``claims_val.csv``, the validation subjects' claims) of each named
checkout. One Markdown row per claim row (claim, task, and its place among that claim's rows for the task, which the
config fixes): the first checkout's measured row and reference, each checkout's verdict with its value and the
reference's value, and how many checkouts pass. ``--differ`` keeps the rows whose verdicts differ. Writes nothing.

Usage (after ``snakemake -c2 all`` in each checkout, e.g. the demo at ``cohort.seed`` 1 and 2):
    python -m bench.claims_matrix default=<checkout> seed1=<checkout> seed2=<checkout> [--val] [--differ]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.job_cpu import markdown  # the bench's Markdown table writer

KEY = ["claim", "task", "row"]


def read_claims(root: Path, val: bool = False) -> pd.DataFrame:
    """The claims table of a checkout, with ``row`` numbering the rows of each claim and task in file order."""
    path = root / "results" / "tables" / ("claims_val.csv" if val else "claims.csv")
    if not path.exists():
        target = "validation" if val else "all"
        raise SystemExit(f"{path} does not exist: run `snakemake -c2 {target}` in {root} first")
    table = pd.read_csv(path, keep_default_na=False)
    table["row"] = table.groupby(["claim", "task"]).cumcount()
    return table


def matrix(claims: dict[str, pd.DataFrame], differ: bool = False) -> pd.DataFrame:
    """One row per claim row (:data:`KEY`) in the first table's order: its measured row and reference, each
    table's ``VERDICT value / reference value`` (blank where a table lacks the row), and ``passes``: ``k/n``."""
    names = list(claims)
    indexed = {name: part.set_index(KEY) for name, part in claims.items()}
    index = indexed[names[0]].index
    for part in indexed.values():
        index = index.append(part.index[~part.index.isin(index)])  # rows the first table lacks, at the end
    described = pd.concat([part[["measured", "reference"]] for part in indexed.values()])
    table = described[~described.index.duplicated()].reindex(index)
    verdicts = pd.DataFrame({name: part["verdict"].reindex(index) for name, part in indexed.items()}).fillna("")
    for name, part in indexed.items():
        cells = part["verdict"] + " " + part["value"].map("{:.4g}".format) + " / " + \
            part["reference_value"].map("{:.4g}".format)
        table[name] = cells.reindex(index)
    table["passes"] = [f"{(row == 'PASS').sum()}/{(row != '').sum()}" for _, row in verdicts.iterrows()]
    if differ:
        table = table[verdicts.apply(lambda row: row[row != ""].nunique() > 1, axis=1)]
    return table.reset_index().drop(columns="row").fillna("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=CHECKOUT", help="a name and a checkout after snakemake")
    parser.add_argument("--val", action="store_true", help="the validation subjects' claims (claims_val.csv)")
    parser.add_argument("--differ", action="store_true", help="only the rows whose verdicts differ")
    args = parser.parse_args()
    roots = {}
    for item in args.runs:
        name, sep, root = item.partition("=")
        if not sep or not name or not root:
            parser.error(f"expected NAME=CHECKOUT, got {item!r}")
        roots[name] = Path(root)
    claims = {name: read_claims(root, args.val) for name, root in roots.items()}
    print(markdown(matrix(claims, args.differ)))


if __name__ == "__main__":
    main()
