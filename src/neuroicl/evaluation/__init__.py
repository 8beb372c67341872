"""Evaluation of every run on the same test targets and contexts: predictors, scoring, and the tidy
metrics table (:mod:`.metrics_table`, light enough for the paper stage to read without torch)."""
