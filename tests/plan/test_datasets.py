"""The datasets of a config: the embedded cohort or real kinds; ids, paths and split sizes known before download."""

from __future__ import annotations

import pandas as pd
import pytest

from neuroicl.data.cohort import sample_participants
from neuroicl.data.splits import make_splits
from neuroicl.plan.cohort import CohortSpec
from neuroicl.plan.datasets import check_local_folders, datasets_from_config, planned_split_sizes

SPLITS = {"seed": 0, "fractions": {"train": 0.7, "val": 0.1, "test": 0.2}}


def test_real_kinds_know_their_modalities_ids_and_paths_without_truth():
    (ixi, oasis) = datasets_from_config({"datasets": [
        {"name": "ixi", "kind": "ixi", "n_subjects": 5}, {"name": "oasis1", "kind": "oasis1", "n_subjects": 3}]})
    assert ixi.modalities == ("T1w", "T2w", "PDw") and not ixi.labelled and not ixi.truth
    assert ixi.subject_ids() == ["sub-0001", "sub-0002", "sub-0003", "sub-0004", "sub-0005"]
    assert set(ixi.subject_paths("resources/ixi", "sub-0002")) == {"T1w", "T2w", "PDw"}
    assert set(oasis.subject_paths("resources/oasis1", "sub-0001")) == {"T1w", "dseg"}


def test_the_embedded_cohort_keeps_its_ids_and_truth(test_config):
    cohort = CohortSpec.from_config(test_config["cohort"])
    spec = datasets_from_config(test_config, cohort)[0]  # the cohort (then the test config's BIDS folder)
    assert spec.subject_ids() == cohort.subject_ids() and spec.truth and spec.labelled
    assert {"mask", "bias", "pose", "dseg"} <= set(spec.subject_paths("resources/embedded", "sub-001", cohort))


@pytest.mark.parametrize("n_subjects", [1, 3, 7, 12])
def test_planned_split_of_the_cohort_is_the_split_the_pipeline_makes(test_config, n_subjects):
    cohort = CohortSpec.from_config({**test_config["cohort"], "n_subjects": n_subjects})
    spec = datasets_from_config(test_config, cohort)[0]  # the cohort (then the test config's BIDS folder)
    made = make_splits(sample_participants(cohort), test_config["splits"]["fractions"], test_config["splits"]["seed"])
    assert planned_split_sizes(spec, test_config["splits"], cohort) == {part: len(ids) for part, ids in made.items()}


def test_planned_split_of_a_real_dataset_is_within_one_subject_per_site_and_part():
    (spec,) = datasets_from_config({"datasets": [{"name": "ixi", "kind": "ixi", "n_subjects": 570}]})
    planned = planned_split_sizes(spec, SPLITS)
    assert sum(planned.values()) == 570
    sites = pd.DataFrame({"participant_id": spec.subject_ids(), "site": ["Guys", "HH", "IOP"] * 190})
    real = {part: len(ids) for part, ids in make_splits(sites, SPLITS["fractions"], 0).items()}
    assert abs(real["train"] - planned["train"]) <= 2 * 3


@pytest.mark.parametrize("datasets, message", [
    ([{"name": "a", "kind": "ixi", "n_subjects": 5}, {"name": "a", "kind": "oasis1", "n_subjects": 5}], "unique"),
    ([{"name": "a", "kind": "nope", "n_subjects": 5}], "kind 'nope'"),
    ([{"name": "e", "kind": "embedded"}], "no `cohort:` block"),
])
def test_bad_dataset_lists_are_errors_naming_the_problem(datasets, message):
    with pytest.raises(ValueError, match=message):
        datasets_from_config({"datasets": datasets})


def test_a_bids_dataset_takes_its_modalities_labels_and_path_from_the_config():
    (spec,) = datasets_from_config({"datasets": [{"name": "mine", "kind": "bids", "path": "/data/mine",
                                                  "n_subjects": 4, "modalities": ["T2w", "T1w"], "labelled": True}]})
    assert (spec.modalities, spec.labelled, spec.real, spec.truth, spec.archives) == (("T2w", "T1w"), True, True,
                                                                                     False, ())
    assert spec.path == "/data/mine" and spec.subject_ids()[-1] == "sub-0004"
    assert set(spec.subject_paths("resources/mine", "sub-0001")) == {"T2w", "T1w", "dseg"}


def test_a_missing_bids_folder_is_an_error_naming_the_key(tmp_path):
    specs = datasets_from_config({"datasets": [{"name": "ixi", "kind": "ixi", "n_subjects": 3},
                                               {"name": "mine", "kind": "bids", "path": str(tmp_path / "nope"),
                                                "n_subjects": 3, "modalities": ["T1w"]}]})
    with pytest.raises(ValueError, match=r"datasets\[1\]\.path: the BIDS folder of dataset 'mine'"):
        check_local_folders(specs)
    check_local_folders([*specs[:1], *datasets_from_config({"datasets": [
        {"name": "mine", "kind": "bids", "path": str(tmp_path), "n_subjects": 3, "modalities": ["T1w"]}]})])
