"""neuroicl.core.logs: a job's log gets everything, and ends with the job's own CPU time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from neuroicl.core.logs import job_resources

_JOB = textwrap.dedent("""
    import atexit, gc, sys, time
    atexit.register(lambda: print(f"frozen={gc.get_freeze_count()}", file=sys.__stdout__))  # runs after the log's
    from neuroicl.core.logs import to_file
    log = to_file(sys.argv[1])
    log.info("working")
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    print(f"{time.process_time():.3f}", file=sys.__stdout__)
    if sys.argv[2] == "fail":
        raise RuntimeError("the job broke")
""")


def _run(tmp_path, outcome: str) -> tuple[subprocess.CompletedProcess, str]:
    log = tmp_path / "job.log"
    done = subprocess.run([sys.executable, "-c", _JOB, str(log), outcome], capture_output=True, text=True, check=False)
    return done, log.read_text()


def test_the_log_ends_with_the_jobs_cpu_seconds(tmp_path):
    done, text = _run(tmp_path, "ok")
    assert done.returncode == 0, done.stderr
    assert "working" in text and text.rstrip().splitlines()[-1].split(" INFO ")[1].startswith("job resources: cpu_s=")
    measured = job_resources(tmp_path / "job.log")
    # at exit: at least what the job had used when it printed (the line rounds to 0.01 s)
    assert measured["cpu_s"] >= float(done.stdout.split()[0]) - 0.01
    assert abs(measured["cpu_s"] - measured["user_s"] - measured["system_s"]) < 0.02
    assert measured["max_rss_mb"] > 1


def test_the_teardown_skips_the_jobs_objects(tmp_path):
    # the log's exit handler freezes the collector (the cheap teardown); handlers registered before it still run
    done, _ = _run(tmp_path, "ok")
    assert int(done.stdout.split("frozen=")[1]) > 1000


def test_a_failed_job_logs_its_traceback_and_its_resources(tmp_path):
    done, text = _run(tmp_path, "fail")
    assert done.returncode == 1
    assert "RuntimeError: the job broke" in text
    assert job_resources(tmp_path / "job.log")["cpu_s"] >= float(done.stdout.split()[0]) - 0.01
    assert "frozen=" in done.stdout  # a failed job's exit handlers run as well


def test_a_log_without_the_line_reads_none(tmp_path):
    (tmp_path / "old.log").write_text("2026-01-01 INFO done\n")
    assert job_resources(tmp_path / "old.log") is None
