"""Atomic, safe extraction of tar and zip archives."""

import io
import tarfile
import zipfile

import pytest

from neuroicl.datasets.errors import UnpackError
from neuroicl.datasets.unpack import MARKER, read_marker, unpack

FILES = {"top.txt": b"top", "folder/inner.txt": b"inner"}


def _tar(path, files, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


def _zip(path, files):
    with zipfile.ZipFile(path, "w") as handle:
        for name, body in files.items():
            handle.writestr(name, body)
    return path


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != MARKER}


@pytest.mark.parametrize(("kind", "make", "name"), [("tar", _tar, "a.tar.gz"), ("zip", _zip, "a.zip")])
def test_archive_is_extracted_with_its_provenance(tmp_path, kind, make, name):
    archive = make(tmp_path / name, FILES)
    target = unpack(archive, kind, tmp_path / "out", {"entry": "a", "sha256": "x"})
    assert _contents(target) == FILES
    assert read_marker(target) == {"entry": "a", "sha256": "x"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "out"])


def test_a_plain_tar_is_read_too(tmp_path):
    archive = _tar(tmp_path / "a.tar", FILES, mode="w")
    assert _contents(unpack(archive, "tar", tmp_path / "out", {})) == FILES


@pytest.mark.parametrize(("make", "kind"), [(_tar, "tar"), (_zip, "zip")])
def test_a_member_escaping_the_folder_is_refused_and_nothing_is_left(tmp_path, make, kind):
    archive = make(tmp_path / f"evil.{kind}", {"../evil.txt": b"x", "ok.txt": b"ok"})
    with pytest.raises(UnpackError, match=r"refused to extract member '\.\./evil\.txt'"):
        unpack(archive, kind, tmp_path / "out" / "target", {})
    assert not (tmp_path / "out" / "evil.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_a_corrupt_archive_names_itself_and_leaves_nothing(tmp_path):
    archive = tmp_path / "broken.tar"
    archive.write_bytes(b"this is not a tar archive" * 40)
    with pytest.raises(UnpackError, match="broken.tar: cannot unpack.*delete the archive and rerun"):
        unpack(archive, "tar", tmp_path / "out", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.tar"]


def test_leftovers_of_a_killed_extraction_are_removed_and_an_old_folder_replaced(tmp_path):
    (tmp_path / ".out.unpack-99999").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    unpack(_tar(tmp_path / "a.tar.gz", FILES), "tar", tmp_path / "out", {})
    assert _contents(tmp_path / "out") == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz", "out"]
