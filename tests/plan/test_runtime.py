"""The environment the workflow gives its jobs."""

import subprocess
import sys

from neuroicl.plan.runtime import MALLOC_SETTINGS, job_environment


def test_the_malloc_settings_fill_only_what_the_user_left_unset():
    assert job_environment({}) == MALLOC_SETTINGS
    mine = {"MALLOC_MMAP_THRESHOLD_": "131072"}
    assert "MALLOC_MMAP_THRESHOLD_" not in job_environment(mine)
    assert set(job_environment(mine)) == set(MALLOC_SETTINGS) - set(mine)


def test_a_process_started_with_them_runs(tmp_path):
    """glibc reads them at start; a process started with them allocates and frees large blocks as usual."""
    code = "import numpy as np; print(sum(float(np.ones(1 << 22).sum()) for _ in range(3)))"
    done = subprocess.run([sys.executable, "-c", code], env=MALLOC_SETTINGS, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == str(3.0 * (1 << 22))
