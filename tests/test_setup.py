"""The course's own setup: the package imports and knows its layout."""

import importlib


def test_package_layout_follows_the_course() -> None:
    for part in ("chatlib.first_steps", "chatlib.stages", "chatlib.app"):
        assert importlib.import_module(part).__doc__


def test_the_lab_runs_as_root_only_when_it_is() -> None:
    import course  # the repository's setup script, importable from the repository's root

    as_user = course.lab_command(["--no-browser"], as_root=False)
    assert as_user[1:] == [
        "lab",
        f"--ServerApp.port={course.LAB_PORT}",
        f"--ServerApp.root_dir={course.REPO}",
        "notebooks/",
        "--no-browser",
    ]
    assert course.lab_command([], as_root=True)[-1] == "--allow-root"
