"""The experiment's plan: what a config asks for, known before any data exists (torch-free).

Datasets and their files (:mod:`.datasets`, :mod:`.layout`, :mod:`.cohort`), split sizes
(:mod:`.splits`), task families (:mod:`.families`), evaluation cases (:mod:`.cases`), the runs of the
comparison (:mod:`.runs`) and the dry-run estimate (:mod:`.summary`), gathered by
:class:`neuroicl.plan.experiment.Plan` for the workflow. Modules here import only the standard
library, PyYAML and jsonschema: the workflow reads them while it builds the DAG.
"""
