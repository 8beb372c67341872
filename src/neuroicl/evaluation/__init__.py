"""Evaluation of every run on the same test targets and contexts (cases, scoring, tidy metrics)."""
