"""Preprocessing: MNI affine registration, skull stripping, N4, intensity normalization, slicing."""
