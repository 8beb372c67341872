"""Fabricated datasets in each real archive's file layout, served by a real HTTP server on 127.0.0.1.

Volumes are tiny (about 10 × 12 × 10). Each dataset has valid subjects and subjects with the
defects its adapter must skip (listed at each builder). The IXI spreadsheet is the committed
``data/IXI.xls`` (see ``data/make_ixi_xls.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml

DATA = Path(__file__).parent / "data"

# IXI: T1 grid (sagittal-like, axes permuted) and the T2/PD grid (axial) that covers it
T1_SHAPE, T2_SHAPE = (10, 12, 10), (14, 14, 10)
T1_AFFINE = np.array([[0, 0, -1.2, 6.0], [-0.95, 0, 0, 5.0], [0, 0.95, 0, -5.0], [0, 0, 0, 1]])
T2_AFFINE = np.array([[1.0, 0, 0, -6.5], [0, 1.0, 0, -6.5], [0, 0, 1.5, -7.0], [0, 0, 0, 1]])
IXI_SUBJECTS = {  # source id → (site, scan, defect)
    "IXI002": ("Guys", "0828", None),
    "IXI012": ("HH", "1211", None),
    "IXI013": ("HH", "1212", "pd_grid"),  # PD on another grid than T2 → skipped
    "IXI016": ("Guys", "0697", "no_pd"),  # no PD image → skipped
    "IXI019": ("Guys", "0702", "truncated_t1"),  # T1 .nii.gz cut short → skipped
    "IXI022": ("Guys", "0701", None),  # conflicting ages in IXI.xls → age n/a
    "IXI035": ("IOP", "0873", None),
    "IXI040": ("HH", "1270", "far_t2"),  # T2/PD 500 mm away from the T1 → skipped
    "IXI050": ("Guys", "0950", None),  # not in IXI.xls → age and sex n/a
}
# OASIS colour table (FreeSurfer format; the numbering is our assumption, the adapter maps by name)
SEG35_NAMES = [
    "Unknown", "Left-Cerebral-White-Matter", "Left-Cerebral-Cortex", "Left-Lateral-Ventricle", "Left-Inf-Lat-Vent",
    "Left-Cerebellum-White-Matter", "Left-Cerebellum-Cortex", "Left-Thalamus", "Left-Caudate", "Left-Putamen",
    "Left-Pallidum", "3rd-Ventricle", "4th-Ventricle", "Brain-Stem", "Left-Hippocampus", "Left-Amygdala",
    "Left-Accumbens", "Left-VentralDC", "Left-Vessel", "Left-Choroid-Plexus", "Right-Cerebral-White-Matter",
    "Right-Cerebral-Cortex", "Right-Lateral-Ventricle", "Right-Inf-Lat-Vent", "Right-Cerebellum-White-Matter",
    "Right-Cerebellum-Cortex", "Right-Thalamus", "Right-Caudate", "Right-Putamen", "Right-Pallidum",
    "Right-Hippocampus", "Right-Amygdala", "Right-Accumbens", "Right-VentralDC", "Right-Vessel", "Right-Choroid-Plexus",
]
OASIS_SUBJECTS = {
    "0001": None,
    "0002": "no_seg",
    "0003": "undefined_label",
    "0004": "other_grid",
    "0005": None,
    "0010": None,
}
MSD_SUBJECTS = {"001": None, "002": "3d", "003": "three_channels", "004": None, "010": None, "011": "zero_channel"}
MSD_MODALITY = {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # what macOS tar leaves as ._<name>


def world_intensity(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``100 + 2x + 3y + 5z`` at every voxel centre (linear in world mm, so linear resampling is exact)."""
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    world = index @ affine[:3, :3].T + affine[:3, 3]
    return 100 + world @ np.array([2.0, 3.0, 5.0])


def save(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def make_ixi(root: Path) -> dict[str, Path]:
    folders = {modality: root / f"IXI-{modality}" for modality in ("T1", "T2", "PD")}
    for source_id, (site, scan, defect) in IXI_SUBJECTS.items():
        t2_affine = T2_AFFINE.copy()
        if defect == "far_t2":
            t2_affine[:3, 3] += 500.0
        t2 = world_intensity(t2_affine, T2_SHAPE).astype(np.float32)
        images = {
            "T1": (np.rint(world_intensity(T1_AFFINE, T1_SHAPE)).astype(np.int16), T1_AFFINE),
            "T2": (t2, t2_affine),
            "PD": (2 * t2 + 10, t2_affine),
        }
        if defect == "pd_grid":
            images["PD"] = (images["PD"][0][:, :, :9], t2_affine)
        for modality, (data, affine) in images.items():
            if defect == "no_pd" and modality == "PD":
                continue
            path = save(folders[modality] / f"{source_id}-{site}-{scan}-{modality}.nii.gz", data, affine)
            if defect == "truncated_t1" and modality == "T1":
                path.write_bytes(path.read_bytes()[:60])
    return {
        "ixi_t1": folders["T1"],
        "ixi_t2": folders["T2"],
        "ixi_pd": folders["PD"],
        "ixi_demographics": DATA / "IXI.xls",
    }


def make_oasis(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "seg35_labels.txt").write_text(
        "#No. Label Name: R G B A\n"
        + "".join(f"{i:<3} {name:<32} {i * 7 % 256} 50 100 0\n" for i, name in enumerate(SEG35_NAMES))
    )
    (root / "seg4_labels.txt").write_text(
        "0 Unknown 0 0 0 0\n1 Cortex 1 1 1 0\n2 Subcortical-Gray-Matter 2 2 2 0\n3 White-Matter 3 3 3 0\n4 CSF 4 4 4 "
        "0\n"
    )
    (root / "subjects.txt").write_text("".join(f"OASIS_OAS1_{number}_MR1\n" for number in OASIS_SUBJECTS))
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = -5.0
    rng = np.random.default_rng(7)
    for number, defect in OASIS_SUBJECTS.items():
        folder = root / f"OASIS_OAS1_{number}_MR1"
        seg = (np.arange(np.prod(T1_SHAPE)) % len(SEG35_NAMES)).reshape(T1_SHAPE).astype(np.uint8)
        if defect == "undefined_label":
            seg[0, 0, 0] = 40
        head = rng.integers(1, 255, T1_SHAPE).astype(np.uint8)
        save(folder / "orig.nii.gz", head, affine)
        save(folder / "norm.nii.gz", (head * (seg > 0)).astype(np.uint8), affine)
        if defect != "no_seg":
            seg_affine = affine.copy()
            if defect == "other_grid":
                seg_affine[:3, 3] += 3.0
            save(folder / "seg35.nii.gz", seg, seg_affine)
        save(folder / "seg4.nii.gz", np.minimum(seg, 4), affine)
        save(folder / "aligned_norm.nii.gz", rng.random((8, 10, 12), dtype=np.float32), affine)
        save(folder / "aligned_seg35.nii.gz", np.zeros((8, 10, 12), np.uint8), affine)
    return root


def make_msd(root: Path) -> Path:
    task = root / "Task01_BrainTumour"
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    base = world_intensity(affine, T1_SHAPE).astype(np.float32)
    training = []
    for number, defect in MSD_SUBJECTS.items():
        name = f"BRATS_{number}.nii.gz"
        data = np.stack([base + 10 * channel for channel in range(4)], axis=-1)
        if defect == "3d":
            data = base
        elif defect == "three_channels":
            data = data[..., :3]
        elif defect == "zero_channel":
            data[..., 2] = 0
        save(task / "imagesTr" / name, data, affine)
        save(task / "labelsTr" / name, np.zeros(T1_SHAPE, np.uint8), affine)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    save(task / "imagesTs" / "BRATS_485.nii.gz", np.stack([base] * 4, axis=-1), affine)
    for junk in (
        task / "imagesTr" / "._BRATS_001.nii.gz",
        task / "labelsTr" / "._BRATS_001.nii.gz",
        task / "._dataset.json",
    ):
        junk.write_bytes(APPLE_DOUBLE)
    description = {
        "name": "BRATS",
        "description": "Gliomas segmentation tumour and oedema in on brain images",
        "reference": "https://www.med.upenn.edu/sbia/brats2017.html",
        "licence": "CC-BY-SA 4.0",
        "release": "2.0 04/05/2018",
        "tensorImageSize": "4D",
        "modality": MSD_MODALITY,
        "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"},
        "numTraining": len(training),
        "numTest": 1,
        "training": training,
        "test": ["./imagesTs/BRATS_485.nii.gz"],
    }
    (task / "dataset.json").write_text(json.dumps(description, indent=4))
    return root


def tar_bytes(root: Path, members: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            tar.add(member, arcname=str(member.relative_to(root)), recursive=False)
    return buffer.getvalue()


def tree(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@dataclass
class Fabricated:
    """Source trees as the archives unpack (``sources``: kind → registry entry → path) and the archives."""

    sources: dict[str, dict[str, Path]]
    archives: dict[str, bytes] = field(default_factory=dict)  # file name on the server → bytes


@pytest.fixture(scope="session")
def fabricated(tmp_path_factory) -> Fabricated:
    root = tmp_path_factory.mktemp("fabricated")
    ixi = make_ixi(root / "ixi")
    oasis = make_oasis(root / "oasis")
    msd = make_msd(root / "msd")
    archives = {
        f"IXI-{modality}.tar": tar_bytes(ixi[f"ixi_{modality.lower()}"], tree(ixi[f"ixi_{modality.lower()}"]))
        for modality in ("T1", "T2", "PD")
    }
    archives["IXI.xls"] = (DATA / "IXI.xls").read_bytes()
    archives["neurite-oasis.v1.0.tar"] = tar_bytes(oasis, tree(oasis))
    archives["Task01_BrainTumour.tar"] = tar_bytes(msd, tree(msd))
    archives["neuralizer-model_weights.ckpt"] = b"weights (a checkpoint in their layout: tests/models/test_released.py)"
    sources = {"ixi": ixi, "oasis1": {"neurite_oasis": oasis}, "msd_brain_tumour": {"msd_task01_brain_tumour": msd}}
    return Fabricated(sources, archives)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; ``server.faults[name]`` injects 404, truncate, corrupt, short, flaky."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        state: FakeServer = self.server.state
        name = self.path.lstrip("/")
        state.requests.append(name)
        fault, body = state.faults.get(name), state.files.get(name)
        if body is None or fault == "404":
            self.send_error(404, "Not Found")
            return
        if fault == "flaky" and state.flaky_left > 0:
            state.flaky_left -= 1
            self.send_error(503, "Service Unavailable")
            return
        if fault == "corrupt":  # same size, other bytes
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        elif fault == "short":  # a shorter file with a matching Content-Length
            body = body[:-10]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "truncate":  # promise the whole body, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class FakeServer:
    """A real HTTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.faults, self.requests, self.flaky_left, self.port = dict(files), {}, [], 1, 0
        self.start()

    def start(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture()
def server(fabricated):
    fake = FakeServer(fabricated.archives)
    yield fake
    fake.stop()


@pytest.fixture()
def registry_file(tmp_path, server, root) -> Path:
    """The real registry with every archive pointed at the fake server and hashed like the real one:
    md5 for IXI and MSD, sha256 for OASIS, none for IXI.xls (lock file); sizes for the IXI files."""
    entries = yaml.safe_load((root / "resources" / "datasets" / "registry.yaml").read_text())
    for entry in entries.values():
        if entry.get("manual"):
            continue
        body = server.files[entry["filename"]]
        entry["url"] = server.url(entry["filename"])
        algorithm = (entry["hash"] or "none:").split(":")[0]
        entry["hash"] = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}" if algorithm != "none" else None
        entry["size"] = len(body) if entry["size"] is not None else None
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))
    return path


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative, sorted); [] if it does not exist."""
    return (
        sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []
    )


@pytest.fixture()
def list_files():
    """``list_files(folder)``: every file below ``folder`` (relative paths, sorted)."""
    return files_under


@pytest.fixture()
def copy_tree(tmp_path):
    """``copy_tree(source)``: a private, modifiable copy of a fabricated source folder."""

    def copy(source: Path) -> Path:
        target = tmp_path / "copies" / source.name
        shutil.copytree(source, target)
        return target

    return copy
