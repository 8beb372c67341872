"""fetch(): download with pooch from a real local HTTP server, verify, record, unpack — and every fault."""

import hashlib

import pytest
import yaml

from neuroicl.datasets.download import PARTIAL, fetch, fetched_path
from neuroicl.datasets.errors import ChecksumError, DownloadError
from neuroicl.datasets.lock import read_lock
from neuroicl.datasets.unpack import MARKER


@pytest.fixture()
def get(registry_file, tmp_path):
    """``get(entry, **options)``: fetch into tmp_path/downloads, quietly and without retries."""

    def run(entry: str, **options):
        options = {"progress": False, "retries": 0, "timeout": 5.0, **options}
        return fetch(entry, registry_file, tmp_path / "registry.lock.yaml", tmp_path / "downloads", **options)

    return run


@pytest.fixture()
def downloads(tmp_path):
    return tmp_path / "downloads"


def test_archive_is_downloaded_verified_and_unpacked(get, downloads, fabricated, list_files):
    folder = get("ixi_t1")
    assert folder == downloads / "ixi_t1"
    expected = sorted(path.name for path in fabricated.sources["ixi"]["ixi_t1"].iterdir())
    assert list_files(folder) == sorted([*expected, MARKER])
    assert (downloads / "IXI-T1.tar").read_bytes() == fabricated.archives["IXI-T1.tar"]
    assert not (downloads / PARTIAL).exists()


def test_plain_file_without_published_hash_records_it_in_the_lock_file(get, downloads, tmp_path, server, fabricated):
    path = get("ixi_demographics")
    body = fabricated.archives["IXI.xls"]
    assert path == downloads / "IXI.xls" and path.read_bytes() == body
    record = read_lock(tmp_path / "registry.lock.yaml")["ixi_demographics"]
    assert (record.sha256, record.size, record.url) == (
        hashlib.sha256(body).hexdigest(),
        len(body),
        server.url("IXI.xls"),
    )
    assert len(record.recorded) == 10 and record.recorded[4] == "-"


def test_a_second_fetch_reuses_the_verified_files(get, server):
    first = get("neurite_oasis"), get("ixi_demographics")
    requests = len(server.requests)
    assert (get("neurite_oasis"), get("ixi_demographics")) == first
    assert len(server.requests) == requests


def test_fetched_path_is_known_before_the_download(get, registry_file, downloads):
    for entry in ("ixi_t1", "ixi_demographics"):
        assert fetched_path(entry, registry_file, downloads) == get(entry)
    assert fetched_path("adni", registry_file, downloads) == downloads / "adni"


def test_hash_mismatch_deletes_the_file_names_url_and_hashes_and_a_rerun_succeeds(
    get, server, downloads, fabricated, list_files
):
    server.faults["IXI-T1.tar"] = "corrupt"
    body = fabricated.archives["IXI-T1.tar"]
    corrupt = bytes([body[0] ^ 0xFF]) + body[1:]
    with pytest.raises(ChecksumError) as error:
        get("ixi_t1")
    message = str(error.value)
    for part in (
        server.url("IXI-T1.tar"),
        hashlib.md5(body).hexdigest(),
        hashlib.md5(corrupt).hexdigest(),
        "deleted",
        "TorchIO",
    ):
        assert part in message
    assert list_files(downloads) == []
    del server.faults["IXI-T1.tar"]
    assert (get("ixi_t1") / "IXI002-Guys-0828-T1.nii.gz").is_file()


def test_truncated_transfer_leaves_no_file_and_a_rerun_succeeds(get, server, downloads, list_files):
    server.faults["neurite-oasis.v1.0.tar"] = "truncate"
    with pytest.raises(DownloadError, match="cut off") as error:
        get("neurite_oasis")
    assert server.url("neurite-oasis.v1.0.tar") in str(error.value) and "no file was kept" in str(error.value)
    assert list_files(downloads) == []
    del server.faults["neurite-oasis.v1.0.tar"]
    assert (get("neurite_oasis") / "seg35_labels.txt").is_file()


def test_short_file_with_matching_length_fails_the_size_check(get, server, downloads, fabricated, list_files):
    server.faults["IXI-PD.tar"] = "short"
    size = len(fabricated.archives["IXI-PD.tar"])
    with pytest.raises(ChecksumError, match=f"has {size - 10} bytes but {size} are expected"):
        get("ixi_pd")
    assert list_files(downloads) == []
    del server.faults["IXI-PD.tar"]
    assert get("ixi_pd").is_dir()


def test_http_404_names_the_url_and_a_rerun_after_the_fix_succeeds(get, server, downloads, list_files):
    server.faults["Task01_BrainTumour.tar"] = "404"
    with pytest.raises(DownloadError, match="HTTP 404") as error:
        get("msd_task01_brain_tumour")
    assert server.url("Task01_BrainTumour.tar") in str(error.value)
    assert list_files(downloads) == []
    del server.faults["Task01_BrainTumour.tar"]
    assert (get("msd_task01_brain_tumour") / "Task01_BrainTumour" / "dataset.json").is_file()


def test_server_down_names_the_host_and_a_rerun_after_restart_succeeds(get, server, downloads, list_files):
    server.stop()
    with pytest.raises(DownloadError, match="could not connect") as error:
        get("ixi_demographics")
    assert f"127.0.0.1:{server.port}" in str(error.value)
    assert list_files(downloads) == []
    server.start()
    assert get("ixi_demographics").is_file()


def test_a_file_changed_on_the_server_fails_against_the_lock_file_until_its_entry_is_deleted(
    get, server, downloads, tmp_path, list_files
):
    lock = tmp_path / "registry.lock.yaml"
    assert not lock.exists()
    original = get("ixi_demographics").read_bytes()
    (downloads / "IXI.xls").unlink()
    server.faults["IXI.xls"] = "corrupt"  # same size, other content
    with pytest.raises(ChecksumError) as error:
        get("ixi_demographics")
    message = str(error.value)
    changed = bytes([original[0] ^ 0xFF]) + original[1:]
    for part in (
        str(lock),
        hashlib.sha256(original).hexdigest(),
        hashlib.sha256(changed).hexdigest(),
        "delete the 'ixi_demographics' entry",
    ):
        assert part in message
    assert list_files(downloads) == []
    # the change is legitimate: do what the message says
    entries = yaml.safe_load(lock.read_text())
    del entries["ixi_demographics"]
    lock.write_text(yaml.safe_dump(entries))
    assert get("ixi_demographics").read_bytes() == changed
    assert read_lock(lock)["ixi_demographics"].sha256 == hashlib.sha256(changed).hexdigest()


def test_leftovers_of_a_killed_download_are_removed(get, downloads, list_files):
    stale = downloads / PARTIAL / "ixi_demographics" / "tmp_half_written"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    get("ixi_demographics")
    assert list_files(downloads) == ["IXI.xls"]


def test_a_corrupt_file_under_the_final_name_is_downloaded_again(get, server, downloads, fabricated):
    downloads.mkdir()
    (downloads / "IXI-T2.tar").write_bytes(b"\0" * len(fabricated.archives["IXI-T2.tar"]))
    get("ixi_t2")
    assert server.requests.count("IXI-T2.tar") == 1
    assert (downloads / "IXI-T2.tar").read_bytes() == fabricated.archives["IXI-T2.tar"]


def test_retries_recover_from_a_transient_server_error(get, server):
    server.faults["IXI.xls"] = "flaky"  # one 503, then the file
    assert get("ixi_demographics", retries=1).is_file()
    assert server.requests.count("IXI.xls") == 2


def test_without_keep_archive_the_unpacked_folder_alone_is_reused(get, server, downloads):
    folder = get("neurite_oasis", keep_archive=False)
    assert not (downloads / "neurite-oasis.v1.0.tar").exists()
    assert get("neurite_oasis") == folder
    assert server.requests.count("neurite-oasis.v1.0.tar") == 1


def test_an_unpacked_folder_from_another_archive_is_unpacked_again(get, downloads, server):
    folder = get("ixi_t1")
    marker = folder / MARKER
    marker.write_text(marker.read_text().replace(server.url("IXI-T1.tar"), "https://elsewhere.example/IXI-T1.tar"))
    (folder / "stale.txt").write_text("from another archive")
    assert get("ixi_t1") == folder
    assert not (folder / "stale.txt").exists()
    assert server.requests.count("IXI-T1.tar") == 1  # the verified archive was reused
