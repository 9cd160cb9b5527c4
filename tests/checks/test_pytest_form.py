"""The pytest form, run as a student would: `pytest tests/student --stage STEP --impl FILE`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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
    assert "1 failed, 4 passed, 3 skipped" in run.stdout
    assert (
        "FAILED tests/student/test_student.py::test_scenario[ii_4: server never sends a message back to its sender]"
        in run.stdout
    )
    assert "got its own message back" in run.stdout
    assert "Traceback" not in run.stdout


def test_the_environment_variables_work_too_and_skeletons_are_skipped() -> None:
    run = run_pytest(environment={"CHATLIB_STAGE": "ii_5", "CHATLIB_IMPL": str(BROKEN / "skeletons.py")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "12 skipped" in run.stdout
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


def test_a_frozen_event_loop_fails_its_test_in_time_with_the_cause() -> None:
    started = time.monotonic()
    run = run_pytest("--stage", "ii_6", "--impl", str(BROKEN / "readline_spin_client.py"))
    assert time.monotonic() - started < 90
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 3 passed, 11 skipped" in run.stdout
    assert (
        "FAILED tests/student/test_student.py::test_scenario[ii_6: client stops when the server goes away]"
        in (run.stdout)
    )
    assert (
        "your code blocked the event loop for 3 s, at tests/checks/broken/readline_spin_client.py"
        in run.stdout
    )
    assert "Traceback" not in run.stdout and "Timeout" not in run.stdout


def run_module(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatlib.checks` in a subprocess, from the project folder."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib.checks", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_gives_a_grader_json_and_an_exit_status() -> None:
    run = run_module("ii_5", str(BROKEN / "input_client.py"), "--json")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["step"] == "ii_5" and report["passed"] is False
    by_name = {result["name"]: result for result in report["results"]}
    typed = by_name["client sends what the user types"]
    assert typed["status"] == "FAIL" and typed["cause"] == "keyboard"
    assert typed["details"][0].startswith("your code called input(), which waits for a keyboard")
    assert by_name["server relays 'PSEUDO a dit : msg' to every other client"]["status"] == "NOT_GIVEN"
    passing = run_module("ii_2", str(ROOT / "tests" / "checks" / "correct" / "socket_ii_2.py"))
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert passing.stdout.startswith(
        "Checks for ii_2 (first server and blocking client): 4 passed, 0 failed\n"
    )


def test_the_command_reports_a_file_that_cannot_be_imported(tmp_path: Path) -> None:
    broken_file = tmp_path / "typo.py"
    broken_file.write_text("def handle_client(reader, writer:\n")
    run = run_module("ii_2", str(broken_file), "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert {result["cause"] for result in report["results"]} == {"import"}
    assert "SyntaxError" in report["results"][0]["details"][0]
