"""What each edition holds: the student's none of our solution code (compared with our functions'
bodies, syntax tree against syntax tree) and nothing that encodes or decodes the protocol's frames
(probed), the key all of it, marked, and a revealed edition just the steps it reveals. The protocol
checks judge a student's code in the student edition exactly as in the course."""

from __future__ import annotations

import ast
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from chatlib.classroom.exercises import EXERCISES, GIVEN_FUNCTIONS, exercise
from chatlib.classroom.release import Edition, ReleaseError, parse_reveal, release
from chatlib.classroom.skeletons import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    skeleton_source,
    solution_source,
    strip_solutions,
)
from chatlib.notebook.mycode import course_folder

from .conftest import edition_environment

MIN_NODES = 12  # a body this small (`return len(self._buffer)`) could be anybody's
PROTOCOL_MODULES = (
    "chatlib/app/protocol/encoding.py",
    "chatlib/app/protocol/decoding.py",
    "chatlib/app/client/server_link.py",
    "chatlib/checks/layout.py",  # the checks' own layout of the frames is an encoder too
)
CODEC_PROBE = Path(__file__).with_name("codec_probe.py")


def solution_files(steps: set[str]) -> dict[str, list[Path]]:
    """Our modules holding the solution of each of `steps`, by step."""
    files: dict[str, list[Path]] = {}
    for step_exercise in EXERCISES:
        if step_exercise.step in steps and not step_exercise.api:
            path = course_folder() / (step_exercise.reference.replace(".", "/") + ".py")
            files.setdefault(step_exercise.step, []).append(path)
    if "protocol" in steps:
        files["protocol"] = [course_folder() / module for module in PROTOCOL_MODULES]
    return files


def functions(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(name, fingerprint of its body without the docstring) for every function in a syntax tree."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            module = ast.Module(body=body, type_ignores=[])
            if body and sum(1 for _ in ast.walk(module)) >= MIN_NODES:
                yield node.name, ast.dump(module)


def reference_bodies(steps: set[str]) -> dict[str, str]:
    """Fingerprint -> `file: function` for every function of our solution of `steps` (the command
    line's given functions aside)."""
    bodies = {}
    for files in solution_files(steps).values():
        for file in files:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            given = {node.name for node in tree.body if getattr(node, "name", None) in GIVEN_FUNCTIONS}
            for name, fingerprint in functions(tree):
                if name not in given:
                    bodies[fingerprint] = f"{file.relative_to(course_folder())}: {name}"
    return bodies


def edition_bodies(edition: Path) -> dict[str, str]:
    """Fingerprint -> `file: function` for every function in the edition's Python files and notebooks."""
    bodies = {}
    for file in edition.rglob("*.py"):
        for name, fingerprint in functions(ast.parse(file.read_text(encoding="utf-8"))):
            bodies[fingerprint] = f"{file.relative_to(edition)}: {name}"
    for file in edition.rglob("*.ipynb"):
        for cell in nbformat.read(file, as_version=4).cells:
            if cell.cell_type == "code":
                python = TransformerManager().transform_cell(cell.source)  # %magics become calls
                tree = compile(python, str(file), "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                for name, fingerprint in functions(tree):
                    bodies[fingerprint] = f"{file.relative_to(edition)} ({cell.id}): {name}"
    return bodies


ALL_STEPS = {e.step for e in EXERCISES if e.step is not None}


def test_the_student_edition_holds_none_of_our_solution_code(student_edition: Path) -> None:
    references = reference_bodies(ALL_STEPS)
    assert len(references) > 60  # every step's functions, compared
    found = edition_bodies(student_edition)
    leaked = sorted(f"{found[body]} is {references[body]}" for body in set(references) & set(found))
    assert leaked == []
    texts = [
        file.read_text(encoding="utf-8")
        for file in student_edition.rglob("*")
        if file.suffix in (".py", ".ipynb")
    ]
    imports_ours = ("import chatlib.stages.ii_", "from chatlib.stages.ii_", "from chatlib.stages import ii_")
    assert not any(BEGIN_SOLUTION in text or any(i in text for i in imports_ours) for text in texts)
    assert not (student_edition / "chatlib/stages/ii_4").exists()
    assert not (student_edition / "chatlib/first_steps/web_async.py").exists()
    assert not (student_edition / "chatlib/app/protocol/encoding.py").exists()
    assert not (student_edition / "chatlib/checks/layout.py").exists()
    assert not (student_edition / "chatlib/classroom").exists()
    assert sorted(path.name for path in (student_edition / "notebooks").iterdir()) == [
        "01_async_first_steps.ipynb",
        "02_chat_room.ipynb",
    ]


def test_the_student_edition_has_no_app_commands_and_only_the_protocol_frames(student_edition: Path) -> None:
    assert "[project.scripts]" not in (student_edition / "pyproject.toml").read_text()
    assert sorted(path.name for path in (student_edition / "chatlib/app/protocol").glob("*.py")) == [
        "__init__.py",
        "frames.py",
    ]


def test_the_student_notebooks_keep_no_solution_cell_and_mark_the_checks_for_nbgrader(
    student_edition: Path,
) -> None:
    notebook = nbformat.read(student_edition / "notebooks/02_chat_room.ipynb", as_version=4)
    assert not [cell.id for cell in notebook.cells if "solution" in cell.metadata.get("tags", [])]
    assert notebook.cells[1].id == "edition-note"
    assert notebook.cells[1].source.startswith("**Class edition: the student's.**")
    checks = {cell.id: cell for cell in notebook.cells if cell.id.startswith("check-")}
    assert checks["check-ii-4"].metadata["nbgrader"] == {
        "grade": True,
        "grade_id": "check-ii-4",
        "locked": True,
        "points": 8,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    assert all(not cell.get("outputs") for cell in notebook.cells)


def test_the_key_holds_every_solution_between_markers_and_strips_to_the_skeleton(teacher_key: Path) -> None:
    for written in (e for e in EXERCISES if e.step is not None and not e.api):
        key_text = (teacher_key / written.path).read_text(encoding="utf-8")
        assert key_text == solution_source(written)
        assert BEGIN_SOLUTION in key_text and END_SOLUTION in key_text
        key_body = key_text.split('"""', 1)[1]
        assert strip_solutions(key_body) == skeleton_source(written).split('"""', 1)[1]
    found = edition_bodies(teacher_key)
    assert set(reference_bodies(ALL_STEPS)) <= set(found)  # the key shows every solution
    assert "[project.scripts]" in (teacher_key / "pyproject.toml").read_text()


def test_a_revealed_edition_shows_those_steps_only(revealed_edition: Path) -> None:
    shown = edition_bodies(revealed_edition)
    for step in ("ii_2", "protocol"):
        assert set(reference_bodies({step})) <= set(shown), step
    revealed = reference_bodies({"ii_2", "protocol"})  # ii_4's greet is ii_2's: revealed with it
    hidden = reference_bodies(ALL_STEPS - {"ii_2", "protocol"})
    assert sorted(hidden[body] for body in set(hidden) & set(shown) - set(revealed)) == []
    assert BEGIN_SOLUTION in (revealed_edition / "mycode/ii_2_server.py").read_text()
    assert BEGIN_SOLUTION not in (revealed_edition / "mycode/ii_3_server.py").read_text()
    assert (revealed_edition / "notebooks/03_finished_chat.ipynb").exists()  # the app needs the protocol
    note = (
        nbformat.read(revealed_edition / "notebooks/01_async_first_steps.ipynb", as_version=4).cells[1].source
    )
    assert note.endswith(
        "**Solutions shown:** `mycode/` holds the course's solution of `ii_2`, `protocol`, "
        "between `### BEGIN SOLUTION` and `### END SOLUTION`."
    )


def test_the_edition_imports_its_own_code_and_its_student_tests_check_mycode(
    student_edition: Path, teacher_key: Path
) -> None:
    def run_student_tests(edition: Path) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "tests/student",
                "--stage",
                "ii_4",
            ],
            cwd=edition,
            env=edition_environment(edition),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return result.stdout.strip().splitlines()[-1]

    assert run_student_tests(student_edition).startswith("8 skipped")  # not implemented yet
    assert run_student_tests(teacher_key).startswith("8 passed")


def test_release_refuses_a_folder_in_use_and_unknown_steps(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="is not empty: choose a new folder"):
        release(tmp_path / "used", Edition())
    with pytest.raises(ReleaseError, match="^no step ii_9; the steps are: sleep_sync, "):
        parse_reveal("ii_2, ii_9")
    assert exercise("protocol").api


# Frames nobody has laid out before (not in the checks, not in docs/PROTOCOL.md): (type, arguments, side).
UNSEEN_FRAMES = [
    ("Say", ["une phrase que personne n'a écrite"], "client"),
    ("Hello", ["zed", "jeton-9"], "client"),
    ("Message", [1_234_567_890_123, "zed", "#123456", "bonjour à tous"], "server"),
]


def probe_codecs(tmp_path: Path, where: dict[str, list[str]], edition: Path | None = None) -> dict[str, Any]:
    """Run codec_probe.py on the modules `where` names (`walk` or `modules`), with the edition's
    chatlib (or the course's); its findings, the modules that did not import and the chatlib used."""
    import chatlib.app.protocol as reference

    frames = [
        {
            "type": name,
            "arguments": arguments,
            "side": side,
            "wire": reference.encode(getattr(reference, name)(*arguments)).hex(),
        }
        for name, arguments, side in UNSEEN_FRAMES
    ]
    spec, result = tmp_path / "spec.json", tmp_path / "result.json"
    spec.write_text(json.dumps({"frames_module": "chatlib.app.protocol.frames", "frames": frames, **where}))
    scratch = tmp_path / "scratch"  # whatever a probed call writes stays here
    scratch.mkdir()
    environment = edition_environment(edition) if edition else dict(os.environ)
    environment["HOME"] = str(scratch)
    completed = subprocess.run(
        [sys.executable, str(CODEC_PROBE), str(spec), str(result)],
        cwd=scratch,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(result.read_text())


def test_no_module_of_the_student_edition_encodes_or_decodes_a_frame(
    student_edition: Path, tmp_path: Path
) -> None:
    found = probe_codecs(tmp_path, {"walk": ["chatlib", "mycode"]}, student_edition)
    assert found["chatlib"] == str(student_edition / "chatlib/__init__.py")
    assert found["failed_imports"] == {}
    assert len(found["probed"]) > 150  # every function, class and method of the edition's code
    assert found["findings"] == []
    vectors = student_edition / "chatlib/checks/frame_vectors.json.gz"
    assert "data for the checks, not an encoder" in gzip.decompress(vectors.read_bytes()).decode()[:300]


def test_the_codec_probe_finds_the_courses_encoders_and_decoder(tmp_path: Path) -> None:
    """The probe itself, on the course's code: it would have found them in an edition."""
    modules = [
        "chatlib.app.protocol.encoding",
        "chatlib.app.protocol.decoding",
        "chatlib.checks.layout",
        "chatlib.checks.vectors",
        "chatlib.checks.wire",
    ]
    assert probe_codecs(tmp_path, {"modules": modules})["findings"] == [
        "chatlib.app.protocol.decoding.FrameDecoder.feed decodes",
        "chatlib.app.protocol.encoding._payload encodes",
        "chatlib.app.protocol.encoding.encode encodes",
        "chatlib.checks.layout.frame_fields encodes",
        "chatlib.checks.layout.payload_fields encodes",
        "chatlib.checks.vectors.frame_bytes encodes",  # with the course's layout behind it
        "chatlib.checks.vectors.frame_fields encodes",
    ]


def course_codec(file: Path) -> Path:
    """A student's protocol file that is right: the course's encoder and decoder, and a read_frame."""
    sources = []
    for module in ("chatlib/app/protocol/encoding.py", "chatlib/app/protocol/decoding.py"):
        text = (course_folder() / module).read_text(encoding="utf-8")
        sources.append(text.replace("from __future__ import annotations\n", ""))  # once, at the top
    read_frame = (
        "\n\nasync def read_frame(reader: asyncio.StreamReader) -> object:\n"
        '    """One whole frame from the server, or None once the connection has ended."""\n'
        "    try:\n"
        "        header = await reader.readexactly(2)\n"
        "    except asyncio.IncompleteReadError as ended:\n"
        "        if ended.partial:\n"
        "            raise\n"
        "        return None\n"
        "    length = await reader.readexactly(header[1])\n"
        '    payload = await reader.readexactly(int.from_bytes(length, "big"))\n'
        '    (frame,) = FrameDecoder("server").feed(header + length + payload)\n'
        "    return frame\n"
    )
    file.write_text("from __future__ import annotations\n\nimport asyncio\n" + "".join(sources) + read_frame)
    return file


def protocol_report(file: Path, edition: Path | None) -> list[tuple[str, str, list[str]]]:
    """`python -m chatlib.checks protocol FILE --json` with the edition's chatlib (or the course's):
    each scenario's name, status and report lines."""
    completed = subprocess.run(
        [sys.executable, "-m", "chatlib.checks", "protocol", str(file), "--json"],
        cwd=file.parent,  # the same for both: a report names files relative to it
        env=edition_environment(edition) if edition else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(completed.stdout)
    return [(result["name"], result["status"], result["details"]) for result in report["results"]]


def test_the_protocol_checks_judge_a_student_in_the_edition_as_in_the_course(
    student_edition: Path, tmp_path: Path
) -> None:
    skeleton = student_edition / "mycode/protocol.py"
    little_endian = course_folder() / "tests/checks/broken/little_endian_protocol.py"
    right = course_codec(tmp_path / "right_protocol.py")
    reports = {
        file.name: (protocol_report(file, student_edition), protocol_report(file, None))
        for file in (skeleton, little_endian, right)
    }
    for name, (in_edition, in_course) in reports.items():
        assert in_edition == in_course, name
    assert {status for _, status, _ in reports["protocol.py"][0]} == {"NOT_IMPLEMENTED"}
    assert [status for _, status, _ in reports["right_protocol.py"][0]] == ["PASS"] * 9
    little_endian = reports["little_endian_protocol.py"][0]
    assert [status for _, status, _ in little_endian] == ["FAIL", "FAIL", "PASS", *["FAIL"] * 5, "NOT_GIVEN"]
    assert little_endian[0][2][:2] == [
        "the bytes of the documented MESSAGE from bob differ from docs/PROTOCOL.md, first in its `time`",
        "sent:     encode(Message(time_ms=1700000000000, pseudo='bob', color='#1f77b4', text='salut'))",
    ]
    assert (
        "> time           00 00 01 8b cf e5 68 00" + " " * 19 + "00 68 e5 cf 8b 01 00 00"
        in little_endian[0][2]
    )
