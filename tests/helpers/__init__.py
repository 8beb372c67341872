"""Test and benchmark helpers (not part of the package): toy pools and stores, the host-sync guard, and
per-item TorchIO references. Importable as ``tests.helpers`` from the repository root (pytest's
``pythonpath``; benchmarks run as ``python -m bench.<name>``)."""
