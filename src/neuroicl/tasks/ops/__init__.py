"""Batched, device-agnostic image operations the tasks and augmentations are built from.

Conventions: images are ``[N, C, H, W]`` float tensors (N items, channels that are all zero stay
zero); per-item parameters are ``[N]`` (or ``[N, ...]``) tensors on the images' device. Every
random operation is a ``sample_*`` function that draws explicit parameters from the
``torch.Generator`` it is given (on ``generator.device``) and a pure applier.
"""
