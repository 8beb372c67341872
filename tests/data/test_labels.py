import pandas as pd
import pytest

from neuroicl.data import labels as L
from neuroicl.plan.reference import builtin_path


def test_every_atlas_label_maps_to_one_cohort_label():
    table = pd.read_csv(builtin_path("atlas_labels"))
    lut = L.atlas_lookup(table)
    assert (lut[table["index"]] > 0).all()
    assert set(lut[table["index"]]) <= {label.index for label in L.LABELS if label.index < L.HEAD_MIN}


def test_evaluation_classes_come_from_their_atlas_structures():
    table = pd.read_csv(builtin_path("atlas_labels")).set_index("name")
    lut = L.atlas_lookup(table.reset_index())
    assert lut[table.loc["Left_Hippocampus", "index"]] == L.BY_NAME["Left-Hippocampus"].index
    assert lut[table.loc["Right_Thalamus_Proper", "index"]] == L.BY_NAME["Right-Thalamus"].index
    assert lut[table.loc["Left_Inf_Lat_Vent", "index"]] == L.BY_NAME["Left-Lateral-Ventricle"].index
    assert lut[table.loc["Right_AnG_angular_gyrus", "index"]] == L.BY_NAME["Right-Cerebral-Cortex"].index


def test_unknown_atlas_label_is_an_error_naming_it():
    with pytest.raises(ValueError, match="Mystery_Structure"):
        L.atlas_lookup(pd.DataFrame({"index": [1], "name": ["Mystery_Structure"]}))


def test_label_table_marks_head_layers_as_non_brain():
    table = L.label_table().set_index("name")
    assert not table.loc["Skull", "is_brain"] and table.loc["CSF", "is_brain"]
