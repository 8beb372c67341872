"""A small BIDS folder from the embedded cohort's generator, for the end-to-end test of ``kind: bids``.

Subjects are synthesized as the cohort's (:func:`neuroicl.data.cohort.synthesize`), then laid out as BIDS:
``sub-<label>/anat/sub-<label>_<modality>.nii.gz``, label maps in a derivative folder
``derivatives/synth/sub-<label>/anat/sub-<label>_desc-synth_dseg.nii.gz`` with one inherited look-up table
``desc-synth_dseg.tsv`` (index, name: the project's names), and ``participants.tsv`` (site, age, sex).
``sub-01`` has only a T1w, so an adapter asking for more modalities skips it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from neuroicl.data.anatomy import Anatomy
from neuroicl.data.cohort import sample_participants, synthesize
from neuroicl.data.labels import label_table
from neuroicl.plan.cohort import CohortSpec


def write_bids_cohort(root: Path, cohort: dict, anatomy: Anatomy, n_subjects: int, seed: int) -> Path:
    """Write ``n_subjects`` synthetic subjects (``sub-02`` …) plus the incomplete ``sub-01`` under ``root``."""
    spec = CohortSpec.from_config({**cohort, "seed": seed, "n_subjects": n_subjects})
    participants = sample_participants(spec)
    scratch, derivative = root.parent / f".{root.name}-synth", root / "derivatives" / "synth"
    derivative.mkdir(parents=True)
    rows = []
    for number, participant in enumerate(participants.to_dict("records"), start=2):
        label = f"sub-{number:02d}"
        paths = spec.subject_paths(str(scratch), participant["participant_id"])
        synthesize(spec, anatomy, participant, paths)
        for modality in spec.modalities:
            _move(paths[modality], root / label / "anat" / f"{label}_{modality}.nii.gz")
        _move(paths["dseg"], derivative / label / "anat" / f"{label}_desc-synth_dseg.nii.gz")
        rows.append({"participant_id": label, "site": participant["site"], "age": participant["age"],
                     "sex": participant["sex"]})
    _move(str(root / "sub-02" / "anat" / f"sub-02_{spec.modalities[0]}.nii.gz"), None,
          copy_to=root / "sub-01" / "anat" / f"sub-01_{spec.modalities[0]}.nii.gz")
    shutil.rmtree(scratch)
    table = label_table()[["index", "name"]]
    pd.concat([pd.DataFrame({"index": [0], "name": ["background"]}), table]).to_csv(
        derivative / "desc-synth_dseg.tsv", sep="\t", index=False)
    pd.DataFrame(rows).to_csv(root / "participants.tsv", sep="\t", index=False)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "synthetic BIDS", "BIDSVersion": "1.9.0"}))
    (derivative / "dataset_description.json").write_text(json.dumps({"Name": "synth", "DatasetType": "derivative",
                                                                     "BIDSVersion": "1.9.0"}))
    return root


def _move(source: str, target: Path | None, copy_to: Path | None = None) -> None:
    destination = target or copy_to
    destination.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copyfile if copy_to else shutil.move)(source, destination)
