"""The cohort's label scheme: a compact set of classes mapped from the Neuromorphometrics atlas.

Brain classes have ids 1–49 (``label > 0 and label < HEAD_MIN`` is the brain mask); the
extra-cerebral head layers the generator adds have ids 50–52; 0 is air.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

HEAD_MIN = 50


@dataclass(frozen=True)
class Label:
    """One class of the cohort's label map.

    ``tissue`` selects the intensity model (see :mod:`neuroicl.data.contrast`);
    ``pattern`` is a regular expression over Neuromorphometrics label names (None for head layers).
    """

    index: int
    name: str
    tissue: str
    pattern: str | None


def _lr(index: int, name: str, tissue: str, pattern: str) -> tuple[Label, Label]:
    return (
        Label(index, f"Left-{name}", tissue, rf"^Left_{pattern}"),
        Label(index + 1, f"Right-{name}", tissue, rf"^Right_{pattern}"),
    )


LABELS: tuple[Label, ...] = (
    *_lr(1, "Cerebral-White-Matter", "wm", r"(Cerebral_White_Matter|vessel)$"),
    # every cortical parcel (Neuromorphometrics names them with an upper-case abbreviation) and
    # the basal forebrain join the cerebral cortex
    *_lr(3, "Cerebral-Cortex", "gm", r"([A-Z][A-Za-z]*_[a-z].*|Basal_Forebrain)$"),
    *_lr(5, "Lateral-Ventricle", "csf", r"(Lateral_Ventricle|Inf_Lat_Vent)$"),
    *_lr(7, "Thalamus", "thalamus", r"Thalamus_Proper$"),
    *_lr(9, "Hippocampus", "gm", r"Hippocampus$"),
    *_lr(11, "Caudate", "caudate", r"Caudate$"),
    *_lr(13, "Putamen", "putamen", r"Putamen$"),
    *_lr(15, "Pallidum", "pallidum", r"Pallidum$"),
    *_lr(17, "Amygdala", "gm", r"Amygdala$"),
    *_lr(19, "Accumbens", "caudate", r"Accumbens_Area$"),
    *_lr(21, "Cerebellum-Cortex", "gm", r"Cerebellum_Exterior$"),
    *_lr(23, "Cerebellum-White-Matter", "wm", r"Cerebellum_White_Matter$"),
    *_lr(25, "Ventral-DC", "thalamus", r"Ventral_DC$"),
    Label(27, "Brain-Stem", "brainstem", r"^Brain_Stem$"),
    Label(28, "3rd-Ventricle", "csf", r"^3rd_Ventricle$"),
    Label(29, "4th-Ventricle", "csf", r"^4th_Ventricle$"),
    Label(30, "Cerebellar-Vermis", "gm", r"^Cerebellar_Vermal_Lobules"),
    Label(31, "Optic-Chiasm", "wm", r"^Optic_Chiasm$"),
    Label(32, "CSF", "csf", r"^CSF$"),
    Label(HEAD_MIN, "Extracerebral-CSF", "csf", None),
    Label(HEAD_MIN + 1, "Skull", "skull", None),
    Label(HEAD_MIN + 2, "Scalp", "scalp", None),
)

BY_NAME = {label.name: label for label in LABELS}
CSF = BY_NAME["CSF"].index
EXTRA_CSF, SKULL, SCALP = HEAD_MIN, HEAD_MIN + 1, HEAD_MIN + 2
CORTEX = (BY_NAME["Left-Cerebral-Cortex"].index, BY_NAME["Right-Cerebral-Cortex"].index)
WHITE_MATTER = (BY_NAME["Left-Cerebral-White-Matter"].index, BY_NAME["Right-Cerebral-White-Matter"].index)
LATERAL_VENTRICLES = (BY_NAME["Left-Lateral-Ventricle"].index, BY_NAME["Right-Lateral-Ventricle"].index)
#: The structures the cohort's sex effect resizes (``cohort.deformation.sex_expansion_mm``): putamen and pallidum.
SEX_DIMORPHIC = tuple(BY_NAME[f"{side}-{name}"].index for name in ("Putamen", "Pallidum") for side in ("Left", "Right"))


def atlas_lookup(atlas_labels: pd.DataFrame) -> np.ndarray:
    """Return a lookup table ``lut[atlas_index] -> cohort label`` for a Neuromorphometrics label table.

    ``atlas_labels`` has columns ``index`` and ``name``. Every atlas name must match exactly one
    cohort label; otherwise a ValueError names the atlas label, so a changed atlas cannot silently
    drop a structure.
    """
    if not {"index", "name"} <= set(atlas_labels.columns):
        raise ValueError(f"atlas label table needs columns 'index' and 'name', got {list(atlas_labels.columns)}")
    lut = np.zeros(int(atlas_labels["index"].max()) + 1, dtype=np.uint8)
    for index, name in zip(atlas_labels["index"], atlas_labels["name"], strict=True):
        hits = [label for label in LABELS if label.pattern and re.search(label.pattern, name)]
        if len(hits) != 1:
            raise ValueError(
                f"atlas label {index} {name!r} matches {len(hits)} cohort labels "
                f"({[hit.name for hit in hits]}); extend neuroicl.data.labels.LABELS"
            )
        lut[index] = hits[0].index
    return lut


def label_table() -> pd.DataFrame:
    """The label scheme as a table (index, name, tissue, is_brain), written beside the cohort."""
    return pd.DataFrame(
        {
            "index": [label.index for label in LABELS],
            "name": [label.name for label in LABELS],
            "tissue": [label.tissue for label in LABELS],
            "is_brain": [label.index < HEAD_MIN for label in LABELS],
        }
    )
