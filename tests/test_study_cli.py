"""The `study` command as a reader uses it: list, up (and Ctrl-C), and its error messages."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from study.cli import app, port_is_free
from study.paths import REPO_ROOT
from study.processes import free_port
from study.projects import discover, find_project

runner = CliRunner()


def test_list_shows_the_projects_found_under_projects():
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    found = discover()
    assert [p.name for p in found][:4] == ["image-classification", "streaming-llm-chat", "rag", "video-moderation"]
    for project in found:
        assert project.name in result.output and project.title in result.output


@pytest.mark.parametrize("project", discover(), ids=lambda p: p.name)
def test_each_project_s_try_it_line_is_filled_in_with_the_url(project):
    """`study up` prints TRY_IT.format(url=...): a brace meant literally (a JSON body) must be doubled."""
    line = project.try_it.format(url="http://127.0.0.1:8000")
    assert "http://127.0.0.1:8000/" in line and "{url}" not in line


def test_unknown_project_is_a_clear_error_not_a_traceback():
    result = runner.invoke(app, ["up", "no-such-project"])
    assert result.exit_code == 2
    assert "unknown project" in result.output and "image-classification" in result.output
    assert "Traceback" not in result.output


# --8<-- [start:new-project]
MINIMAL_RECIPE = {
    "__init__.py": 'TITLE = "Hello, inference"\nTEACHES = "how a project joins the course"\n',
    "stack.py": """
import sys
from contextlib import contextmanager
from types import SimpleNamespace

from study.processes import ManagedProcess, free_port

@contextmanager
def running_stack(run_dir, port=None, host="127.0.0.1", report=print):
    port = port or free_port()
    server = ManagedProcess("hello", [sys.executable, "-m", "http.server", str(port), "--bind", host],
                            run_dir / "hello.log", url=f"http://{host}:{port}")
    server.start()
    server.wait_http_ok(server.url, timeout_s=30)
    try:
        yield SimpleNamespace(url=server.url, endpoints=lambda: {"page": server.url})
    finally:
        server.stop()
""",
}


def test_a_new_folder_with_a_local_recipe_is_a_project(tmp_path, monkeypatch):
    projects = tmp_path / "projects"
    projects.mkdir()
    for existing in discover():
        (projects / existing.folder.name).symlink_to(existing.folder)
    recipe = projects / "13-hello-inference" / "local"
    recipe.mkdir(parents=True)
    for name, text in MINIMAL_RECIPE.items():
        (recipe / name).write_text(text)
    monkeypatch.setenv("STUDY_PROJECTS_DIR", str(projects))

    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "hello-inference" in result.output and "Hello, inference" in result.output
    assert result.output.index("video-moderation") < result.output.index("hello-inference")  # number order
    project = find_project("13")
    assert (project.package, project.env_prefix) == ("hello_inference", "HELLO_INFERENCE_")
    with project.recipe("stack").running_stack(tmp_path / "run", report=lambda _: None) as stack:
        assert httpx.get(stack.url).status_code == 200


# --8<-- [end:new-project]


@pytest.mark.parametrize(
    ("project", "says"),
    [
        ("streaming-llm-chat", "the parts streams, prefix-reuse, tenant-fairness"),
        ("image-classification", "the parts serving, edge"),
        ("rag", "the parts pipeline, agent"),
        ("video-moderation", "no parts"),
    ],
)
def test_bench_only_names_a_part_the_benchmark_has(project, says):
    result = runner.invoke(app, ["bench", project, "--only", "nope"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def up_port() -> int:
    """One port for both runs below: the second starts at once on the port the first served on."""
    return free_port()


# A job started in the background by a script inherits SIGINT as ignored; Ctrl-C must still work.
@pytest.mark.parametrize("inherited_sigint", [signal.SIG_DFL, signal.SIG_IGN], ids=["default", "ignored"])
def test_up_serves_the_cat_and_ctrl_c_leaves_no_process_behind(tmp_path, cat_jpeg_bytes, inherited_sigint, up_port):
    port = up_port
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "study.cli", "up", "image-classification", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, inherited_sigint),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
        # "Connection: close": the server closes the connection, so its side lingers in TIME-WAIT
        # on this port after the run, as after any run that served requests.
        response = httpx.post(
            f"{url}/v1/classify",
            files={"image": ("cat.jpg", cat_jpeg_bytes, "image/jpeg")},
            headers={"Connection": "close"},
        )
        assert response.status_code == 200
        assert "cat" in response.json()["predictions"][0]["label"]
        pattern = f"--port {port}|run/image-classification/model_repository"
        server_pids = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True).stdout.split()
        assert len(server_pids) >= 2  # tritonserver and uvicorn
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "is up" in output and "stopped." in output
    assert "Traceback" not in output
    for pid in server_pids:
        assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", (
            f"process {pid} survived Ctrl-C"
        )


@pytest.fixture(scope="module")
def cat_jpeg_bytes() -> bytes:
    import io

    import skimage.data
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.chelsea()).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_port_whose_closed_connections_linger_in_time_wait_is_free():
    """Nothing listens, but the server closed a connection first: its side stays in TIME-WAIT for
    about a minute. A plain bind fails then; the server (SO_REUSEADDR) and our check do not."""
    import socket

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server side closes first: TIME-WAIT is on port `port`
            client.recv(1)
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # the old check's way: the lingering state makes it fail
    assert port_is_free("127.0.0.1", port)


def test_up_on_a_busy_port_says_so():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = runner.invoke(app, ["up", "image-classification", "--port", str(busy.getsockname()[1])])
    assert result.exit_code == 1
    assert "is in use" in result.output and "--port" in result.output


def test_gpu_benchmark_refuses_clearly_without_a_gpu(monkeypatch):
    monkeypatch.delenv("STUDY_BENCH_DEVICE", raising=False)
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has a GPU")
    result = runner.invoke(app, ["bench", "image-classification", "--gpu"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "no NVIDIA GPU here" in result.output
    result = runner.invoke(app, ["bench", "fraud-ensemble", "--gpu"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "has no GPU benchmark" in result.output


def test_gpu_bench_script_stops_before_starting_anything_without_a_gpu():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has a GPU")
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts/gpu-bench.sh")], capture_output=True, text=True)
    assert done.returncode == 2 and "no NVIDIA GPU here" in done.stderr
