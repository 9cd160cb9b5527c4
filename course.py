#!/usr/bin/env python3
"""Set up the course and run it, with nothing but Python 3.11+ on the machine.

    python3 course.py lab     # install everything, open the course in JupyterLab
    python3 course.py test    # install everything, run the whole test suite
    python3 course.py release DIR [--solutions | --reveal STEP,...]   # a class edition, for students
    python3 course.py grade SUBMISSIONS [--out DIR]                   # grade what students handed in

Everything is installed into `.venv/` inside the repository, from the pinned
`requirements.txt`; a second run reinstalls only when that file or
`pyproject.toml` changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
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
# The lab serves the whole project, so that chatlib/, docs/ and README.md open from its file
# browser and the notebooks' links (../docs/PROTOCOL.md) work; it opens on the notebooks.
LAB_ROOT = REPO
LAB_START_PAGE = "/lab/tree/notebooks"
STANDIN_SITE_ADDRESS = ("127.0.0.1", 8000)
STOP_TIMEOUT_SECONDS = 30.0


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


def lab_command(extra_args: list[str], as_root: bool, port: int = LAB_PORT) -> list[str]:
    """The JupyterLab command line: the project on `port`, opening on the notebooks; as root if it is."""
    command = [str(venv_executable("jupyter")), "lab", f"--ServerApp.port={port}",
               f"--ServerApp.root_dir={LAB_ROOT}", f"--LabApp.default_url={LAB_START_PAGE}"]
    if as_root:
        command.append("--allow-root")
    return [*command, *extra_args]


def parse_lab_options(extra_args: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split course.py's own lab options (`--port`, `--site-port`) from those passed on to JupyterLab."""
    parser = argparse.ArgumentParser(prog="course.py lab", add_help=False, allow_abbrev=False)
    parser.add_argument("--port", type=int, default=LAB_PORT, help="the lab's port (0: any free one)")
    parser.add_argument("--site-port", type=int, default=STANDIN_SITE_ADDRESS[1],
                        help="the stand-in web site's port (0: any free one)")
    return parser.parse_known_args(extra_args)


def start_out_of_ctrl_c_reach(command: list[str]) -> subprocess.Popen[bytes]:
    """Start a program that reads no keyboard and, on POSIX, gets no Ctrl+C: course.py stops it itself.

    (Jupyter, given the Ctrl+C, would ask "Shut down this Jupyter server (y/[n])?" while course.py
    had already gone.) On Windows the console's Ctrl+C reaches every program, and Jupyter stops at once.
    """
    own_process_group = {"process_group": 0} if os.name == "posix" else {}
    return subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, **own_process_group)


def stop_lab(lab: subprocess.Popen[bytes]) -> None:
    """Stop JupyterLab and wait for it; a second Ctrl+C, or a lab that hangs, kills it.

    SIGTERM makes Jupyter shut its kernels down before it exits (on Windows, Ctrl+C already did).
    """
    if os.name == "posix" and lab.poll() is None:
        lab.terminate()
    try:
        lab.wait(timeout=STOP_TIMEOUT_SECONDS)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        lab.kill()
        lab.wait()


def open_lab(extra_args: list[str]) -> int:
    """Serve the stand-in web site and JupyterLab until Ctrl+C (or the lab's own end), then stop both."""
    options, jupyter_args = parse_lab_options(extra_args)
    # Closing the terminal (SIGHUP) or `kill` (SIGTERM) stops the lab as Ctrl+C does.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.default_int_handler)
    host = STANDIN_SITE_ADDRESS[0]
    site = start_out_of_ctrl_c_reach(
        [str(venv_executable("python")), "-m", "chatlib.first_steps.standin_site",
         "--host", host, "--port", str(options.site_port)]
    )
    lab = None
    status = 0
    try:
        lab = start_out_of_ctrl_c_reach(lab_command(jupyter_args, running_as_root(), options.port))
        status = lab.wait()
    except KeyboardInterrupt:
        print(flush=True)  # end the line the terminal echoed ^C on
    finally:
        if lab is not None:
            stop_lab(lab)
        site.terminate()  # it has nothing to save
        site.wait()
    print("JupyterLab and the stand-in web site are stopped.", flush=True)
    return status


def run_tests(extra_args: list[str]) -> int:
    """Run the whole pytest suite with the course's interpreter, on every core (pytest-xdist).

    ``-n N`` among the extra arguments chooses the number of workers instead (``-n 0``: none).
    """
    workers = [] if any(argument.startswith("-n") for argument in extra_args) else ["-n", "auto"]
    return subprocess.call([str(venv_executable("python")), "-m", "pytest", *workers, *extra_args], cwd=REPO)


def run_classroom(command: str, extra_args: list[str]) -> int:
    """Build a class edition or grade submissions (chatlib/classroom/), with the course's interpreter.

    Paths are the caller's, so the command runs in the caller's folder (-P: never importing from it).
    """
    if not (REPO / "chatlib" / "classroom").is_dir():
        sys.exit(f"course.py {command} needs the course's own repository; this folder is a class edition.")
    python = str(venv_executable("python"))
    return subprocess.call([python, "-P", "-m", "chatlib.classroom", command, *extra_args])


def main() -> int:
    """Parse the command, make sure the course is installed, then run what was asked."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "lab", "test", "release", "grade", "cluster"],
                        help="setup: install only; lab: open the course; test: run the tests; "
                             "release: build a class edition; grade: grade students' work")
    parser.add_argument("extra", nargs=argparse.REMAINDER,
                        help="passed on to jupyter lab (but lab's own --port N, --site-port N) or pytest")
    arguments = parser.parse_args()
    ensure_installed()
    if arguments.command == "lab":
        return open_lab(arguments.extra)
    if arguments.command == "test":
        return run_tests(arguments.extra)
    if arguments.command == "cluster":  # NATS and two chat nodes until Ctrl+C (docs/CLUSTER.md)
        return subprocess.call([str(venv_executable("python")), "-m", "chatlib.app.cluster.demo",
                                *arguments.extra], cwd=REPO)
    if arguments.command in ("release", "grade"):
        return run_classroom(arguments.command, arguments.extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
