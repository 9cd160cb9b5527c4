"""The pytest form, run as a student would: `pytest tests/student --stage STEP --impl FILE`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).parent / "broken"


def run_pytest(
    *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run pytest on tests/student in a subprocess, from the project folder."""
    env = {**os.environ, **(environment or {})}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/student", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_students_file_gets_one_test_per_scenario_and_the_failure_message() -> None:
    run = run_pytest("--stage", "ii_4", "--impl", str(BROKEN / "echo_server.py"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 3 passed, 3 skipped" in run.stdout
    assert (
        "FAILED tests/student/test_student.py::test_scenario[ii_4: server never sends a message back to its sender]"
        in run.stdout
    )
    assert "got its own message back" in run.stdout
    assert "Traceback" not in run.stdout


def test_the_environment_variables_work_too_and_skeletons_are_skipped() -> None:
    run = run_pytest(environment={"CHATLIB_STAGE": "ii_5", "CHATLIB_IMPL": str(BROKEN / "skeletons.py")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 skipped" in run.stdout
    assert "not implemented yet: start_server still a skeleton" in run.stdout
    assert "not implemented yet: run_client still a skeleton" in run.stdout


def test_bad_options_get_a_one_line_error() -> None:
    missing_stage = run_pytest("--impl", str(BROKEN / "echo_server.py"))
    assert missing_stage.returncode == 4
    assert "--impl needs --stage STEP too" in missing_stage.stderr
    unknown = run_pytest("--stage", "ii_9")
    assert unknown.returncode == 4
    assert "no step 'ii_9'" in unknown.stderr
    no_file = run_pytest("--stage", "ii_4", "--impl", "does_not_exist.py")
    assert no_file.returncode == 1
    assert "no such file:" in no_file.stdout and "Traceback" not in no_file.stdout
