#!/usr/bin/env bash
# Snakemake runs this once in the new conda environment (--sdm conda), from the directory it was started
# in: it installs the neuroicl package itself, editable and without dependencies (the environment file pins
# them), so that the rule scripts import it. Every envs/<env>.post-deploy.sh is a link to this file.
set -euo pipefail
root="$(pwd)"
if [ ! -f "$root/pyproject.toml" ] || ! grep -q '^name = "neuroicl"' "$root/pyproject.toml"; then
    echo "neuroicl post-deploy: $root is not the neuroicl repository; start Snakemake from the repository root" >&2
    exit 1
fi
python -m pip install --no-deps --editable "$root"
