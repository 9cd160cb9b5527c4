"""`python -m chatlib.checks STEP FILE [--json]`: check a student's file from a terminal or a grader.

Prints the report (or, with --json, the report as JSON); the exit status is 0 when no scenario
failed, 1 when one did, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from chatlib.checks.runner import STEPS, check_file


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the checks, print the report, return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m chatlib.checks", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=list(STEPS), metavar="STEP", help=f"one of: {', '.join(STEPS)}")
    parser.add_argument("file", help="the student's Python file, defining the step's names")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    arguments = parser.parse_args(argv)
    if arguments.json:
        with contextlib.redirect_stdout(sys.stderr):  # what the student's code prints stays out of the JSON
            report = check_file(arguments.step, arguments.file)
    else:
        report = check_file(arguments.step, arguments.file)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if arguments.json else report.text())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
