"""A site's slices as a domain: brain-masked images without labels, or with one task's labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroicl.data.domains import LabelledDomain, covariate, domain_images, labelled_domain, site_rows
from tests.helpers.istn import two_site_data


@pytest.fixture(scope="module")
def data():
    return two_site_data()


def test_domain_images_are_the_sites_brain_masked_channels(data):
    store, _, splits = data
    domain = domain_images(store, "siteB", sum(splits.values(), []), ["T2w", "T1w"])
    rows = site_rows(store, "siteB", sum(splits.values(), []))
    assert not isinstance(domain, LabelledDomain) and domain.images.shape == (len(rows), 2, 16, 16)
    expected = np.asarray(store.images[rows][:, [1, 0]], dtype=np.float32) * store.mask[rows][:, None]
    np.testing.assert_array_equal(domain.images, expected)
    assert set(store.index["site"].iloc[rows]) == {"siteB"} and list(domain.subjects) == \
        list(store.index["subject"].iloc[rows])


def test_a_slab_keeps_only_its_slice_positions_for_images_and_labels(data):
    store, participants, splits = data
    subjects = sum(splits.values(), [])
    positions = sorted(store.index["slice"].unique())
    slab = (int(positions[1]), int(positions[2]))
    every = domain_images(store, "siteA", subjects, ["T1w"])
    rows = site_rows(store, "siteA", subjects, slab)
    assert set(store.index["slice"].iloc[rows]) == set(positions[1:3])
    inside = store.index["slice"].iloc[site_rows(store, "siteA", subjects)].between(*slab).to_numpy()
    np.testing.assert_array_equal(domain_images(store, "siteA", subjects, ["T1w"], slab).images, every.images[inside])
    aged = [s for s in subjects if s in covariate(participants, "age")]
    for task, classes, who in (("age", None, aged), ("segmentation", {"cortex": (3, 4)}, subjects)):
        whole = labelled_domain(store, participants, "siteA", who, ["T1w"], task, classes)
        part = labelled_domain(store, participants, "siteA", who, ["T1w"], task, classes, slab)
        kept = store.index["slice"].iloc[site_rows(store, "siteA", who)].between(*slab).to_numpy()
        np.testing.assert_array_equal(part.labels, whole.labels[kept])
        np.testing.assert_array_equal(part.subjects, whole.subjects[kept])
    with pytest.raises(ValueError, match=r"istn.slices \[900, 901\]"):
        domain_images(store, "siteA", subjects, ["T1w"], (900, 901))


def test_unknown_modalities_sites_and_subjects_are_errors(data):
    store, _, splits = data
    with pytest.raises(ValueError, match="istn.modalities"):
        domain_images(store, "siteA", splits["train"], ["CT"])
    with pytest.raises(ValueError, match="site 'siteZ'"):
        domain_images(store, "siteZ", splits["train"], ["T1w"])


def test_covariates_come_from_the_participants_table(data):
    _, participants, _ = data
    sexes, ages = covariate(participants, "sex"), covariate(participants, "age")
    first = participants.iloc[0]
    assert sexes[first["participant_id"]] == (1.0 if first["sex"] == "M" else 0.0)
    assert ages[first["participant_id"]] == first["age"]
    assert participants["participant_id"].iloc[-1] not in sexes | ages  # n/a
    with pytest.raises(ValueError, match="no 'handedness' column|must be one of"):
        covariate(participants, "handedness")


def test_labels_per_task(data):
    store, participants, splits = data
    sex = labelled_domain(store, participants, "siteA", splits["train"], ["T1w"], "sex")
    table = participants.set_index("participant_id")
    assert sex.labels.dtype == np.int64 and list(sex.labels) == [int(table.loc[s, "sex"] == "M") for s in sex.subjects]
    masks = labelled_domain(store, participants, "siteA", splits["train"], ["T1w"], "segmentation",
                            {"ventricle": (5, 6)})
    rows = site_rows(store, "siteA", splits["train"])
    np.testing.assert_array_equal(masks.labels[:, 0], np.isin(store.labels[rows], [5, 6]))
    with pytest.raises(ValueError, match="istn.labels"):
        labelled_domain(store, participants, "siteA", splits["train"], ["T1w"], "segmentation")


def test_a_covariate_task_without_any_subject_is_an_error(data):
    store, participants, splits = data
    empty = participants.assign(age=pd.NA)
    with pytest.raises(ValueError, match="no subject"):
        labelled_domain(store, empty, "siteA", splits["train"], ["T1w"], "age")
