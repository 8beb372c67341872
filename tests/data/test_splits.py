import json

import pandas as pd
import pytest

from neuroicl.data.splits import check_disjoint, make_splits, read_splits

FRACTIONS = {"train": 0.5, "val": 0.125, "test": 0.375}


def _participants(n=24, sites=("siteA", "siteB", "siteC")):
    return pd.DataFrame(
        {"participant_id": [f"sub-{i + 1:03d}" for i in range(n)], "site": [sites[i % len(sites)] for i in range(n)]}
    )


def test_splits_are_deterministic_disjoint_and_complete():
    first, second = make_splits(_participants(), FRACTIONS, 0), make_splits(_participants(), FRACTIONS, 0)
    assert first == second
    check_disjoint(first)
    assert sorted(sum(first.values(), [])) == sorted(_participants()["participant_id"])


def test_splits_are_stratified_by_site():
    table = _participants().set_index("participant_id")
    splits = make_splits(_participants(), FRACTIONS, 0)
    for part, expected in (("train", 4), ("val", 1), ("test", 3)):
        assert table.loc[splits[part], "site"].value_counts().to_dict() == {
            "siteA": expected,
            "siteB": expected,
            "siteC": expected,
        }


def test_splits_do_not_depend_on_row_order():
    shuffled = _participants().sample(frac=1, random_state=3)
    assert make_splits(shuffled, FRACTIONS, 0) == make_splits(_participants(), FRACTIONS, 0)


def test_another_seed_gives_another_split():
    assert make_splits(_participants(), FRACTIONS, 0) != make_splits(_participants(), FRACTIONS, 1)


def test_bad_fractions_are_an_error():
    with pytest.raises(ValueError, match="splits.fractions"):
        make_splits(_participants(), {"train": 0.5, "test": 0.5}, 0)


def test_missing_split_file_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_splits(str(tmp_path / "embedded.json"))


def test_overlapping_split_file_is_an_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"train": ["sub-001"], "val": [], "test": ["sub-001"]}))
    with pytest.raises(ValueError, match="sub-001 is in both train and test"):
        read_splits(str(path))
