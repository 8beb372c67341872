"""The embedded cohort: a synthetic multi-site cohort built from real anatomy that ships in packages."""
