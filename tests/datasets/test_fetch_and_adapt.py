"""End to end without internet: download each dataset's archives from the local server, unpack, adapt."""

import pandas as pd
import pytest

from neuroicl.datasets.adapters import adapt
from neuroicl.datasets.download import fetch
from neuroicl.plan.layout import KINDS, participant_ids, subject_paths


@pytest.mark.parametrize(("kind", "n_subjects"), [("ixi", 5), ("oasis1", 3), ("msd_brain_tumour", 3)])
def test_download_unpack_and_adapt(registry_file, tmp_path, kind, n_subjects):
    spec = KINDS[kind]
    sources = {
        entry: fetch(
            entry,
            registry_file,
            tmp_path / "registry.lock.yaml",
            tmp_path / "downloads",
            progress=False,
            retries=0,
            timeout=5.0,
        )
        for entry in spec.archives
    }
    result = adapt(kind, sources, tmp_path / kind, n_subjects, registry_path=registry_file)
    assert [participant for participant, _ in result.kept] == participant_ids(n_subjects)
    for participant in participant_ids(n_subjects):
        for path in subject_paths(str(tmp_path / kind), participant, spec.modalities, spec.labelled).values():
            assert (tmp_path / kind).joinpath(path.removeprefix(f"{tmp_path / kind}/")).is_file()
    participants = pd.read_csv(tmp_path / kind / "participants.tsv", sep="\t")
    assert participants["source_id"].tolist() == [source for _, source in result.kept]
