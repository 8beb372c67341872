"""The config is validated against workflow/schemas/config.schema.yaml on load."""

import subprocess
import sys

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = "workflow/schemas/config.schema.yaml"


def _schema_keys(node, path=""):
    """Yield (path, node) for every property of the schema."""
    for key, child in node.get("properties", {}).items():
        yield f"{path}.{key}".lstrip("."), child
        yield from _schema_keys(child, f"{path}.{key}")
    if "items" in node:
        yield from _schema_keys(node["items"], f"{path}[]")


def test_default_and_test_configs_are_valid(root, test_config):
    validate(yaml.safe_load((root / "config" / "config.yaml").read_text()), str(root / SCHEMA))
    validate(test_config, str(root / SCHEMA))


def test_every_schema_key_has_a_description_and_objects_are_closed(root):
    schema = yaml.safe_load((root / SCHEMA).read_text())
    for path, node in _schema_keys(schema):
        assert node.get("description"), f"{path} has no description"
        if node.get("type") == "object":
            closed = node.get("additionalProperties") is False or "propertyNames" in node  # fixed keys, or a named map
            assert closed, f"{path} admits unknown keys"


def test_the_u_net_s_per_task_steps_name_the_library_s_tasks(root):
    from neuroicl.plan.families import TASK_FAMILY

    schema = yaml.safe_load((root / SCHEMA).read_text())
    unet = schema["properties"]["training"]["properties"]["runs"]["properties"]["unet"]
    assert set(unet["properties"]["all_task_steps"]["propertyNames"]["enum"]) == set(TASK_FAMILY)


def test_every_default_config_key_carries_a_comment(root):
    lines = (root / "config" / "config.yaml").read_text().splitlines()
    keyed = [line for line in lines if ":" in line and not line.lstrip().startswith("#")]
    uncommented = [line for line in keyed if "#" not in line]
    assert not uncommented, uncommented


def test_misspelled_key_is_an_error_naming_it(root, test_config):
    test_config["cohort"]["n_subject"] = 3
    with pytest.raises(WorkflowError, match="n_subject"):
        validate(test_config, str(root / SCHEMA))


def test_wrong_type_is_an_error_naming_the_value(root, test_config):
    test_config["cohort"]["pose"]["max_rotation_deg"] = "fifteen"
    with pytest.raises(WorkflowError, match="fifteen"):
        validate(test_config, str(root / SCHEMA))


def _dry_run(root, tmp_path, config):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(path), "-d", str(tmp_path)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def test_snakemake_stops_on_a_misspelled_key(root, tmp_path, test_config):
    test_config["cohort"]["sitez"] = test_config["cohort"].pop("sites")
    run = _dry_run(root, tmp_path, test_config)
    assert run.returncode != 0
    assert "sitez" in run.stdout + run.stderr


def test_snakemake_stops_on_a_missing_atlas_naming_key_and_path(root, tmp_path, test_config):
    test_config["reference"]["atlas"] = "/nowhere/atlas.nii.gz"
    run = _dry_run(root, tmp_path, test_config)
    assert run.returncode != 0
    assert "reference.atlas" in run.stderr + run.stdout and "/nowhere/atlas.nii.gz" in run.stderr + run.stdout


def test_datasets_reject_unknown_keys_and_kinds(root, test_config):
    test_config["datasets"] = [{"name": "ixi", "kind": "ixi", "n_subjects": 10, "subjects": 3}]
    with pytest.raises(WorkflowError, match="subjects"):
        validate(test_config, str(root / SCHEMA))
    test_config["datasets"] = [{"name": "abide", "kind": "abide", "n_subjects": 10}]
    with pytest.raises(WorkflowError, match="abide"):
        validate(test_config, str(root / SCHEMA))


def test_real_datasets_need_a_subject_count_and_the_cohort_takes_none(root, test_config):
    test_config["datasets"] = [{"name": "ixi", "kind": "ixi"}]
    with pytest.raises(WorkflowError, match="n_subjects"):
        validate(test_config, str(root / SCHEMA))
    test_config["datasets"] = [{"name": "embedded", "kind": "embedded", "n_subjects": 5}]
    with pytest.raises(WorkflowError):
        validate(test_config, str(root / SCHEMA))


@pytest.mark.parametrize("entry, missing", [
    ({"name": "mine", "kind": "bids", "n_subjects": 3, "modalities": ["T1w"]}, "path"),
    ({"name": "mine", "kind": "bids", "n_subjects": 3, "path": "/data"}, "modalities"),
    ({"name": "mine", "kind": "bids", "path": "/data", "modalities": ["T1w"]}, "n_subjects"),
    ({"name": "mine", "kind": "bids", "n_subjects": 3, "path": "/data", "modalities": ["T1"]}, "T1"),
])
def test_a_bids_dataset_needs_path_modalities_and_a_subject_count(root, test_config, entry, missing):
    test_config["datasets"] = [entry]
    with pytest.raises(WorkflowError, match=missing):
        validate(test_config, str(root / SCHEMA))


def test_only_a_bids_dataset_takes_a_path(root, test_config):
    test_config["datasets"] = [{"name": "ixi", "kind": "ixi", "n_subjects": 10, "path": "/data"}]
    with pytest.raises(WorkflowError):
        validate(test_config, str(root / SCHEMA))


def test_snakemake_stops_on_a_missing_bids_folder_naming_the_key(root, tmp_path, test_config):
    test_config["datasets"].append({"name": "mystudy", "kind": "bids", "path": "bids/mystudy", "n_subjects": 3,
                                    "modalities": ["T1w"]})  # a folder nobody wrote
    run = _dry_run(root, tmp_path, test_config)
    assert run.returncode != 0
    assert "datasets[1].path" in run.stderr + run.stdout and "bids/mystudy" in run.stderr + run.stdout


def _merged_config(root, overlay: str) -> dict:
    """The file ``overlay`` (repository-relative) merged over config/config.yaml, as `--configfile` does."""
    from snakemake.utils import update_config

    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((root / overlay).read_text()))
    return config


def _paper_config(root) -> dict:
    """config/paper.yaml merged over config/config.yaml."""
    return _merged_config(root, "config/paper.yaml")


def test_paper_config_is_valid_and_every_key_carries_a_comment(root):
    config = _paper_config(root)
    validate(config, str(root / SCHEMA))
    assert [entry["kind"] for entry in config["datasets"]] == ["ixi", "oasis1", "msd_brain_tumour"]
    lines = (root / "config" / "paper.yaml").read_text().splitlines()
    uncommented = [line for line in lines if ":" in line and not line.lstrip().startswith("#") and "#" not in line]
    assert not uncommented, uncommented


def test_paper_grid_gives_192_by_192_slices(root):
    from neuroicl.plan.slicing import AXES

    preprocess = _paper_config(root)["preprocess"]
    shape = list(preprocess["grid"]["shape"])
    del shape[AXES[preprocess["slices"]["axis"]]]
    assert shape == [192, 192] and preprocess["grid"]["spacing_mm"] == 1.0


def test_the_istn_covariate_overlay_is_a_valid_config(root):
    """bench/istn_covariates.yaml (docs/models.md's covariate check) merged over the default, as `--configfile`."""
    config = _merged_config(root, "bench/istn_covariates.yaml")
    validate(config, str(root / SCHEMA))
    assert config["cohort"]["n_subjects"] == 90 and config["istn"]["tasks"] == ["age", "sex"]
    deformation = config["cohort"]["deformation"]
    assert deformation["sex_expansion_mm"] > 0 and deformation["ventricle_expansion_mm"] == 9.0  # merged into the block
    assert deformation["velocity_rms_mm"] == 2.0 and config["istn"]["transductive"]  # the rest kept


def test_the_mvg_segmentation_overlay_is_a_valid_config(root):
    """bench/mvg_segmentation.yaml (docs/models.md's MVG check) merged over the default: one run, segmentation."""
    from neuroicl.models.mvg import MVGConfig

    config = _merged_config(root, "bench/mvg_segmentation.yaml")
    validate(config, str(root / SCHEMA))
    mvg = MVGConfig(**config["models"]["hyperparameters"]["mvg"])
    assert mvg.patch_size == 4 and mvg.grid == (24, 12)  # 12 x 12 tokens per slice, two slices per canvas
    run = config["training"]["runs"]["mvg"]
    assert run["tasks"] == ["segmentation"] and not run.get("all_tasks") and "ablation" not in run
    assert config["models"]["hyperparameters"]["unet"]["channels"] == 16  # the rest of the default kept


def test_istn_never_selects_on_the_test_subjects(root, test_config):
    """The source site's test subjects give the single-site ceiling: selecting on them would be a leak."""
    test_config["istn"]["selection"] = "test"
    with pytest.raises(WorkflowError, match="test"):
        validate(test_config, str(root / SCHEMA))
