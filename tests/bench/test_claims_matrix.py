"""bench/claims_matrix.py: several checkouts' claims side by side, row by row, with the verdicts that differ."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.claims_matrix import markdown, matrix, read_claims

COLUMNS = ["claim", "task", "measured", "value", "reference", "reference_value", "verdict"]


def _claims(root, rows: list[tuple]) -> None:
    path = root / "results" / "tables" / "claims.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)


def test_rows_pair_by_claim_task_and_place_and_count_the_passes(tmp_path):
    _claims(tmp_path / "a", [
        ("Beats the floor", "segmentation", "A (32)", 0.74, "Floor", 0.67, "PASS"),
        ("Beats the floor", "segmentation", "B (16)", 0.66, "Floor", 0.67, "FAIL"),
        ("Rises", "denoising", "A (L = 32)", 23.9, "A (L = 1)", 23.4, "PASS"),
    ])
    _claims(tmp_path / "b", [  # the same rows, one verdict flipped, a best setting moved
        ("Beats the floor", "segmentation", "A (8)", 0.71, "Floor", 0.66, "PASS"),
        ("Beats the floor", "segmentation", "B (16)", 0.68, "Floor", 0.66, "PASS"),
        ("Rises", "denoising", "A (L = 32)", 23.0, "A (L = 1)", 23.5, "FAIL"),
    ])
    claims = {"a": read_claims(tmp_path / "a"), "b": read_claims(tmp_path / "b")}
    table = matrix(claims)
    assert list(table.columns) == ["claim", "task", "measured", "reference", "a", "b", "passes"]
    assert table["measured"].tolist() == ["A (32)", "B (16)", "A (L = 32)"]  # the first checkout's rows, in order
    assert table["a"].tolist() == ["PASS 0.74 / 0.67", "FAIL 0.66 / 0.67", "PASS 23.9 / 23.4"]
    assert table["passes"].tolist() == ["2/2", "1/2", "1/2"]
    assert matrix(claims, differ=True)["measured"].tolist() == ["B (16)", "A (L = 32)"]
    assert markdown(table).splitlines()[2].startswith("| Beats the floor | segmentation | A (32) | Floor |")


def test_a_row_one_checkout_lacks_is_blank_there(tmp_path):
    _claims(tmp_path / "a", [("Beats the floor", "segmentation", "A", 0.74, "Floor", 0.67, "PASS")])
    _claims(tmp_path / "b", [("Beats the floor", "segmentation", "A", 0.70, "Floor", 0.67, "PASS"),
                             ("ISTN recovers", "segmentation", "ISTN", 0.6, "0.33", 0.33, "PASS")])
    table = matrix({"a": read_claims(tmp_path / "a"), "b": read_claims(tmp_path / "b")})
    assert table["claim"].tolist() == ["Beats the floor", "ISTN recovers"]
    assert table["a"].tolist() == ["PASS 0.74 / 0.67", ""]
    assert table["passes"].tolist() == ["2/2", "1/1"]


def test_a_checkout_without_claims_names_the_file_and_the_target(tmp_path):
    with pytest.raises(SystemExit, match=r"claims_val\.csv does not exist: run `snakemake -c2 validation`"):
        read_claims(tmp_path, val=True)
