import numpy as np
import pytest

from neuroicl.data.slice_store import SliceStore, gather, write_subject_slices
from neuroicl.preprocess.slices import cut, select_slices, subject_slices


def test_select_slices_keeps_the_large_brain_slices():
    mask = np.zeros((10, 12, 8), bool)
    mask[2:8, 3:9, 2:6] = True
    mask[4:6, 9, 3:5] = True  # a small extra slice
    assert list(select_slices(mask, "coronal", 0.5)) == list(range(3, 9))
    assert list(select_slices(mask, "coronal", 0.5, step=2)) == [3, 5, 7]


def test_cut_puts_the_slicing_axis_first():
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert cut(volume, "coronal", np.array([1])).shape == (1, 2, 4)
    np.testing.assert_array_equal(cut(volume, "axial", np.array([3]))[0], volume[:, :, 3])


def test_missing_modality_is_zero_and_marked_unavailable():
    image = np.ones((4, 5, 6), np.float32)
    arrays = subject_slices({"T1w": image}, ["T1w", "T2w"], image > 0, None, "coronal", np.array([0, 2]))
    assert arrays["images"].shape == (2, 2, 4, 6) and arrays["images"].dtype == np.float16
    assert arrays["images"][:, 1].max() == 0 and list(arrays["available"]) == [True, False]
    assert arrays["labels"].max() == 0


def test_store_round_trips_and_is_memory_mapped(tmp_path):
    files = {}
    for n, subject in enumerate(["sub-002", "sub-001"]):
        image = np.full((4, 5, 6), n + 1, np.float32)
        arrays = subject_slices(
            {"T1w": image}, ["T1w"], image > 0, (image * 3).astype(np.uint8), "coronal", np.array([1, 3])
        )
        files[subject] = str(tmp_path / f"{subject}.npz")
        write_subject_slices(files[subject], arrays)
    index = gather(files, {"sub-001": "A", "sub-002": "B"}, ["T1w"], str(tmp_path / "store"))
    store = SliceStore.open(str(tmp_path / "store"))
    assert isinstance(store.images, np.memmap)
    assert list(store.index["subject"]) == ["sub-001", "sub-001", "sub-002", "sub-002"]  # sorted
    assert float(store.images[0, 0, 0, 0]) == 2 and float(store.images[2, 0, 0, 0]) == 1
    assert list(index["slice"]) == [1, 3, 1, 3] and store.labels.max() == 6
    assert not list((tmp_path / "store").glob(".*tmp*"))


def test_missing_store_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="snakemake -c2"):
        SliceStore.open(str(tmp_path / "nowhere"))
