"""The committed registry is complete; a malformed registry fails with the file, entry and field."""

import pytest
import yaml

from neuroicl.datasets.errors import RegistryError
from neuroicl.datasets.registry import Archive, Manual, load_entry, load_registry
from neuroicl.plan.layout import KINDS

PUBLISHED = {
    "ixi_t1": "md5",
    "ixi_t2": "md5",
    "ixi_pd": "md5",
    "neurite_oasis": "sha256",
    "msd_task01_brain_tumour": "md5",
}


@pytest.fixture(scope="module")
def registry(root):
    return load_registry(root / "resources" / "datasets" / "registry.yaml")


def test_every_archive_an_adapter_reads_is_a_downloadable_entry_with_licence_and_citation(registry):
    for kind in KINDS.values():
        for name in kind.archives:
            entry = registry[name]
            assert isinstance(entry, Archive), name
            assert entry.url.startswith("https://") and entry.licence and entry.citation and entry.homepage


def test_published_hashes_are_used_where_they_exist_and_the_spreadsheet_goes_to_the_lock_file(registry):
    for name, algorithm in PUBLISHED.items():
        assert registry[name].hash_algorithm == algorithm and registry[name].hash_source, name
        assert registry[name].unpack == "tar"
    assert registry["ixi_demographics"].hash is None and registry["ixi_demographics"].unpack is None


def test_manual_entries_say_how_to_obtain_the_data_and_what_to_place(registry):
    for name in ("adni", "ukbiobank"):
        entry = registry[name]
        assert isinstance(entry, Manual)
        assert "apply" in entry.instructions.lower() and entry.expected and entry.licence and entry.citation


def test_unknown_entry_lists_the_known_ones(root):
    with pytest.raises(RegistryError, match="no entry 'ixi_t3'.*ixi_t1"):
        load_entry(root / "resources" / "datasets" / "registry.yaml", "ixi_t3")


GOOD = {
    "title": "t",
    "url": "https://example.org/a.tar",
    "filename": "a.tar",
    "homepage": "h",
    "licence": "l",
    "citation": "c",
}
MANUAL = {
    "title": "t",
    "manual": True,
    "homepage": "h",
    "licence": "l",
    "citation": "c",
    "instructions": "apply",
    "expected": [{"glob": "*.nii", "min_count": 1, "what": "w"}],
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "licence"}, r"lacks \['licence'\]"),
        ({**GOOD, "sha": "x"}, r"unknown fields \['sha'\]"),
        ({**GOOD, "hash": "md5:123"}, "hash 'md5:123' must be"),
        ({**GOOD, "hash": "crc32:12345678"}, "hash 'crc32:12345678' must be"),
        ({**GOOD, "url": "ftp://example.org/a.tar"}, "must be an http"),
        ({**GOOD, "filename": "sub/a.tar"}, "plain file name"),
        ({**GOOD, "unpack": "rar"}, "unpack 'rar'"),
        ({**GOOD, "size": -3}, "size -3"),
        ({**GOOD, "citation": ""}, "'citation' must be a non-empty string"),
        ({**MANUAL, "expected": []}, "'expected' must list"),
        ({**MANUAL, "expected": [{"glob": "../x", "min_count": 1, "what": "w"}]}, "relative pattern"),
        ({**MANUAL, "expected": [{"glob": "*.nii", "min_count": 0, "what": "w"}]}, "min_count 0"),
    ],
)
def test_a_malformed_entry_names_the_file_entry_and_field(tmp_path, fields, message):
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"broken": fields}))
    with pytest.raises(RegistryError, match=message) as error:
        load_registry(path)
    assert str(path) in str(error.value) and "'broken'" in str(error.value)


def test_a_missing_or_unparsable_registry_names_the_file(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nowhere.yaml")
    path = tmp_path / "registry.yaml"
    path.write_text("a: [unclosed")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(path)
