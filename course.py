#!/usr/bin/env python3
"""Set up the course and run it, with nothing but Python 3.11+ on the machine.

    python3 course.py lab     # install everything, open the course in JupyterLab
    python3 course.py test    # install everything, run the whole test suite

Everything is installed into `.venv/` inside the repository, from the pinned
`requirements.txt`; a second run reinstalls only when that file or
`pyproject.toml` changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent
VENV = REPO / ".venv"
INSTALL_STAMP = VENV / "course-install.sha256"
INSTALL_INPUTS = (REPO / "requirements.txt", REPO / "pyproject.toml")

# JupyterLab's own default (8888) is the chat server's default port in the
# course, so the lab listens elsewhere.
LAB_PORT = 8890
STANDIN_SITE_ADDRESS = ("127.0.0.1", 8000)


def venv_executable(name: str) -> Path:
    """Path of a program installed in the course's virtual environment."""
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def inputs_digest() -> str:
    """Fingerprint of the files that decide what gets installed."""
    digest = hashlib.sha256()
    for path in INSTALL_INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_installed() -> None:
    """Create `.venv` and install the pinned requirements and `chatlib` into it, if not already done."""
    if sys.version_info < (3, 11):
        sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not venv_executable("python").exists():
        print(f"Creating the virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = inputs_digest()
    if INSTALL_STAMP.exists() and INSTALL_STAMP.read_text() == wanted:
        return
    print("Installing the course's requirements (first run only) ...", flush=True)
    python = str(venv_executable("python"))
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-r", str(REPO / "requirements.txt")], check=True)
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "-e", str(REPO)], check=True)
    INSTALL_STAMP.write_text(wanted)


def running_as_root() -> bool:
    """Whether this process is root (in a container, say), which Jupyter refuses unless told."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(extra_args: list[str], as_root: bool) -> list[str]:
    """The JupyterLab command line: on the notebooks, on LAB_PORT, and allowed to run as root if it is."""
    command = [str(venv_executable("jupyter")), "lab", f"--ServerApp.port={LAB_PORT}",
               f"--ServerApp.root_dir={REPO}", "notebooks/"]
    if as_root:
        command.append("--allow-root")
    return [*command, *extra_args]


def open_lab(extra_args: list[str]) -> int:
    """Serve the stand-in web site for terminal experiments and open JupyterLab on the notebooks."""
    host, port = STANDIN_SITE_ADDRESS
    site = subprocess.Popen(
        [str(venv_executable("python")), "-m", "chatlib.first_steps.standin_site",
         "--host", host, "--port", str(port)],
        cwd=REPO,
    )
    print(f"Stand-in web site: http://{host}:{port}/ (for Part I in a terminal)", flush=True)
    try:
        return subprocess.call(lab_command(extra_args, running_as_root()), cwd=REPO)
    except KeyboardInterrupt:
        return 0
    finally:
        site.terminate()
        site.wait(timeout=10)


def run_tests(extra_args: list[str]) -> int:
    """Run the whole pytest suite with the course's interpreter."""
    return subprocess.call([str(venv_executable("python")), "-m", "pytest", *extra_args], cwd=REPO)


def main() -> int:
    """Parse the command, make sure the course is installed, then run what was asked."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "lab", "test"],
                        help="setup: install only; lab: open the course; test: run the tests")
    parser.add_argument("extra", nargs=argparse.REMAINDER,
                        help="passed on to jupyter lab or pytest")
    arguments = parser.parse_args()
    ensure_installed()
    if arguments.command == "lab":
        return open_lab(arguments.extra)
    if arguments.command == "test":
        return run_tests(arguments.extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
