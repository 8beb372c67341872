"""Real datasets: registry, downloads, manual entries and adapters to the common raw layout.

Entry points (imported from their modules, so that importing :mod:`neuroicl.plan.layout` stays light):
:func:`neuroicl.datasets.download.fetch` and :func:`neuroicl.datasets.adapters.adapt`; see docs/datasets.md.
"""
