"""The classroom tools' command line: `python -m chatlib.classroom release|grade ...` (course.py calls it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatlib.classroom.release import Edition, ReleaseError, parse_reveal, release


def main(argv: list[str] | None = None) -> int:
    """Build an edition, or grade a folder of submissions."""
    parser = argparse.ArgumentParser(prog="python3 course.py", description="The class edition of the course.")
    commands = parser.add_subparsers(dest="command", required=True)
    building = commands.add_parser(
        "release", help="build the student edition (or the teacher's key) into DIR"
    )
    building.add_argument("destination", type=Path, metavar="DIR", help="a new folder for the edition")
    which = building.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="the teacher's key: every step's solution")
    which.add_argument("--reveal", metavar="STEP,...", help="show these steps' solutions (after a deadline)")
    grading = commands.add_parser("grade", help="check every submission in SUBMISSIONS and write the grades")
    grading.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="a folder with one folder (or one notebook) per student",
    )
    grading.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the grades (default SUBMISSIONS-grades)"
    )
    grading.add_argument(
        "--step-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds one step's checks may take for one student before they are stopped",
    )
    grading.add_argument(
        "--import-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds a step's files may take to import before they are stopped (default 20)",
    )
    grading.add_argument("--jobs", type=int, default=None, metavar="N", help="students checked at once")
    arguments = parser.parse_args(argv)
    if arguments.command == "release":
        try:
            edition = Edition(solutions=arguments.solutions, reveal=parse_reveal(arguments.reveal))
            built = release(arguments.destination, edition)
        except ReleaseError as error:
            print(f"release: {error}", file=sys.stderr)
            return 2
        print(f"The {edition.name} is in {built}.")
        print(f"Start it with: cd {built} && python3 course.py lab")
        return 0
    from chatlib.classroom.grading import grade_command

    return grade_command(
        arguments.submissions, arguments.out, arguments.step_timeout, arguments.jobs, arguments.import_timeout
    )


if __name__ == "__main__":
    sys.exit(main())
