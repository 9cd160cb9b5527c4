"""The course's own setup: the package imports and knows its layout; `course.py lab` starts and stops cleanly."""

from __future__ import annotations

import importlib
import json
import re
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_client import BlockingKernelClient, find_connection_file

import course  # the repository's setup script, importable from the repository's root
from tests.notebook_runner import NOTEBOOKS
from tests.terminal_screen import Terminal

LAB_START_TIMEOUT = 120.0
LAB_STOP_TIMEOUT = 60.0
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)|href=\"([^\"]+)\"")


def test_package_layout_follows_the_course() -> None:
    for part in ("chatlib.first_steps", "chatlib.stages", "chatlib.app"):
        assert importlib.import_module(part).__doc__


def test_the_lab_serves_the_project_opens_on_the_notebooks_and_runs_as_root_only_when_it_is() -> None:
    as_user = course.lab_command(["--no-browser"], as_root=False)
    assert as_user[1:] == [
        "lab",
        f"--ServerApp.port={course.LAB_PORT}",
        f"--ServerApp.root_dir={course.REPO}",
        "--LabApp.default_url=/lab/tree/notebooks",
        "--no-browser",
    ]
    assert course.lab_command([], as_root=True)[-1] == "--allow-root"
    assert course.lab_command([], as_root=False, port=0)[2] == "--ServerApp.port=0"


def test_course_py_lab_options_are_its_own_and_the_rest_goes_to_jupyter() -> None:
    options, jupyter_args = course.parse_lab_options(["--port", "0", "--no-browser", "--site-port=8001"])
    assert (options.port, options.site_port, jupyter_args) == (0, 8001, ["--no-browser"])
    options, jupyter_args = course.parse_lab_options([])
    assert (options.port, options.site_port, jupyter_args) == (8890, 8000, [])


def notebook_links() -> list[tuple[str, str]]:
    """(notebook, link) for every link in the notebooks' text that points to a file, not a web page."""
    links = []
    for notebook_file in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in nbformat.read(notebook_file, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for match in MARKDOWN_LINK.finditer(cell.source):
                link = match.group(1) or match.group(2)
                if not re.match(r"[a-z]+:|#", link):
                    links.append((notebook_file.name, link))
    return links


def heading_anchors(markdown_file: Path) -> set[str]:
    """The anchors of a Markdown file's headings, as GitHub makes them (`### Benchmark` -> `benchmark`)."""
    anchors = set()
    for line in markdown_file.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"#+ (.+)", line):
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_link_in_a_notebook_opens_a_file_the_lab_serves() -> None:
    links = notebook_links()
    assert ("03_finished_chat.ipynb", "../docs/PROTOCOL.md") in links
    for notebook, link in links:
        path, _, anchor = link.partition("#")
        target = (NOTEBOOKS / path).resolve()
        assert target.is_relative_to(course.LAB_ROOT), f"{notebook}: {link} is outside the lab's folder"
        assert target.is_file(), f"{notebook}: {link} points to no file"
        if anchor and target.suffix == ".md":
            assert anchor in heading_anchors(target), f"{notebook}: {link}: no such heading in {path}"


def lab_api(port: int, token: str, path: str, method: str = "GET") -> dict | list:
    """Ask the running lab's REST API; return its JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def wait_until_listening(port: int) -> None:
    """Wait for 127.0.0.1:port to accept connections (Jupyter prints its address a moment before)."""
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while nothing_listens_on(port):
        assert time.monotonic() < deadline, f"nothing ever listened on port {port}"
        time.sleep(0.1)  # a port cannot be awaited: try again


def nothing_listens_on(port: int) -> bool:
    """Whether connecting to 127.0.0.1:port is refused."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_for_kernel_ready(kernel_id: str) -> None:
    """Wait until the lab's new kernel answers, as it does once a notebook is open in it."""
    client = BlockingKernelClient(connection_file=find_connection_file(f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=LAB_START_TIMEOUT)
    finally:
        client.stop_channels()


@pytest.fixture
def lab() -> Iterator[Terminal]:
    """`python3 course.py lab` on free ports, in a terminal; anything it left running is killed at the end."""
    terminal = Terminal.spawn(
        sys.executable,
        [str(course.REPO / "course.py"), "lab", "--port", "0", "--site-port", "0", "--no-browser"],
        columns=200,
        rows=50,
        cwd=str(course.REPO),
    )
    started = [psutil.Process(terminal.child.pid)]
    yield terminal
    if terminal.child.isalive():
        started += started[0].children(recursive=True)
    for process in started:
        if process.is_running():
            process.kill()
    terminal.close()


@pytest.mark.pty
def test_one_ctrl_c_stops_the_lab_its_kernels_and_the_site_and_says_so(lab: Terminal) -> None:
    site_port = int(lab.wait_for_output(r"on http://127\.0\.0\.1:(\d+)/", LAB_START_TIMEOUT).group(1))
    address = lab.wait_for_output(
        r"http://127\.0\.0\.1:(\d+)/lab/tree/notebooks\?token=(\w+)", LAB_START_TIMEOUT
    )
    lab_port, token = int(address.group(1)), address.group(2)
    wait_until_listening(lab_port)

    # The lab serves the whole project, so the notebooks' links open.
    names = {entry["name"] for entry in lab_api(lab_port, token, "contents")["content"]}
    assert {"chatlib", "docs", "notebooks", "README.md"} <= names
    assert lab_api(lab_port, token, "contents/docs/PROTOCOL.md?content=0")["type"] == "file"

    wait_for_kernel_ready(lab_api(lab_port, token, "kernels", method="POST")["id"])
    running = psutil.Process(lab.child.pid).children(recursive=True)
    assert len(running) >= 3  # the site, Jupyter and the kernel

    lab.child.sendintr()
    assert lab.wait_for_exit(LAB_STOP_TIMEOUT) == 0
    shown = [row for row in lab.rows() if row]
    assert shown[-1] == "JupyterLab and the stand-in web site are stopped."
    assert lab.screen.cursor.x == 0 and lab.rows()[lab.screen.cursor.y] == ""  # the shell starts a fresh line
    printed = lab.output.decode(errors="replace")
    assert "Shut down this Jupyter server" not in printed
    assert "Parent appears to have exited" not in printed
    assert "Traceback" not in printed, printed
    _, still_running = psutil.wait_procs(running, timeout=10)
    assert still_running == []
    assert nothing_listens_on(lab_port) and nothing_listens_on(site_port)
