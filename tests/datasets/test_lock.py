"""The lock file: atomic records, round trip, refusal to overwrite, clear errors on a damaged file."""

import datetime
import threading

import pytest

from neuroicl.datasets.errors import RegistryError
from neuroicl.datasets.lock import LockRecord, read_lock, record

SHA = "ab" * 32


def test_the_committed_lock_file_is_readable(root):
    read_lock(root / "resources" / "datasets" / "registry.lock.yaml")


def test_a_missing_lock_file_has_no_records(tmp_path):
    assert read_lock(tmp_path / "registry.lock.yaml") == {}


def test_a_record_round_trips_keeps_the_header_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "registry.lock.yaml"
    new = record(path, "ixi_demographics", SHA, 210432, "https://example.org/IXI.xls", today=datetime.date(2026, 5, 1))
    assert new == LockRecord(SHA, 210432, "https://example.org/IXI.xls", "2026-05-01")
    assert read_lock(path) == {"ixi_demographics": new}
    assert path.read_text().startswith("# Hashes recorded")
    assert [p.name for p in tmp_path.iterdir()] == ["registry.lock.yaml"]


def test_a_different_record_for_an_existing_entry_is_refused(tmp_path):
    path = tmp_path / "registry.lock.yaml"
    record(path, "a", SHA, 1, "https://example.org/a")
    with pytest.raises(RegistryError, match="already has a record for 'a'.*delete that entry"):
        record(path, "a", "cd" * 32, 1, "https://example.org/a")


def test_records_written_at_the_same_time_are_all_kept(tmp_path):
    path = tmp_path / "registry.lock.yaml"
    names = [f"entry_{index}" for index in range(12)]
    start = threading.Barrier(len(names))

    def write(name: str) -> None:
        start.wait()
        record(path, name, SHA, 1, f"https://example.org/{name}")

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(read_lock(path)) == sorted(names)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: {sha256: xyz, size: 1, url: u, recorded: '2026-01-01'}", "sha256 'xyz' must be 64"),
        (f"a: {{sha256: {SHA}, size: 1, url: u}}", "must have exactly sha256, size, url, recorded"),
        (f"a: {{sha256: {SHA}, size: -1, url: u, recorded: '2026-01-01'}}", "size -1"),
        ("[1, 2]", "must map entry names"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_a_damaged_lock_file_names_itself(tmp_path, text, message):
    path = tmp_path / "registry.lock.yaml"
    path.write_text(text)
    with pytest.raises(RegistryError, match=message) as error:
        read_lock(path)
    assert str(path) in str(error.value)
