"""The serving comparison (part ``servers`` of project 01's benchmark): the same model behind
TorchServe, Ray Serve and the course's service with and without Triton, each started for real,
loaded and put through the same fault drills. Checked here on a small run: every stack answers
correctly, every drill leaves a complete record, and what the stacks are known to do differently is
what the records say."""

from __future__ import annotations

import json

import pytest
from study.local.image_classification import bench, bench_servers, server_drills, servers

from study.errors import StudyError

# The comparison starts its four stacks twenty times and, on a machine that has never run it, first
# builds TorchServe's environment (torch included) and Triton's: longer than the suite's 600 s guard
# against a hung test, which pytest-timeout counts from the start of the first test's fixtures.
pytestmark = [pytest.mark.local_only, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    if why := servers.java_missing():
        pytest.skip(why)
    out = tmp_path_factory.mktemp("servers")
    paths = bench.run(out, scale=0.05, report=lambda _: None, only="servers")
    return json.loads(paths[0].read_text()), paths


def rows_by_key(result: dict) -> dict[str, dict]:
    return {row["key"]: row for row in result["results"]}


def test_every_stack_serves_the_same_model_correctly(comparison):
    result, _ = comparison
    rows = rows_by_key(result)
    assert set(rows) == set(servers.CONTENDERS) and not result["skipped"]
    for row in rows.values():
        assert [r["concurrency"] for r in row["speed"]] == list(bench_servers.CONCURRENCY)
        # answer_ok counts only answers that put the cat's classes first: no errors means all were right
        assert all(r["errors"] == 0 and r["throughput_rps"] > 0 for r in row["speed"]), row["key"]
        assert row["start_up"]["first_answer_s"] > 0 and row["memory_mib"] > 0 and row["processes"] >= 1


def test_configuration_counts_the_files_a_reader_writes(comparison):
    rows = rows_by_key(comparison[0])
    assert rows["torchserve"]["config_files"] == ["config.properties", "handler.py"]
    assert rows["ray-serve"]["config_files"] == ["app.py"]
    assert rows["fastapi-onnxruntime"]["config_lines"] == 0  # settings only: no file to write
    assert all(rows[key]["config_lines"] > 10 for key in ("fastapi-triton", "torchserve", "ray-serve"))


def test_bad_input_is_refused_and_the_stack_keeps_serving(comparison):
    for row in comparison[0]["results"]:
        assert row["bad_input"] == {"status": 422, "still_serving": True}, row["key"]


def test_overload_is_recorded_answer_by_answer(comparison):
    rows = rows_by_key(comparison[0])
    for row in rows.values():
        overload = row["overload"]
        assert sum(overload["outcomes"].values()) == overload["sent"] > 0, row["key"]
        assert overload["serving_after"], f"{row['key']} did not answer after the overload"
    # TorchServe's job queue is bounded (job_queue_size in config.properties): past it, 503
    torchserve_codes = set(rows["torchserve"]["overload"]["outcomes"])
    assert torchserve_codes <= {"200", "503"}


def test_a_model_that_raises_fails_the_request_that_caused_it(comparison):
    rows = rows_by_key(comparison[0])
    for row in rows.values():
        raises = row["model_raises"]
        assert raises["blank_images"] > 0 and "ok" not in raises["blank_outcomes"], row["key"]
        assert raises["photos"] > 0 and raises["serving_after"], row["key"]
    # one request, one run of the model: nothing else fails with the blank image
    in_process = rows["fastapi-onnxruntime"]["model_raises"]
    assert in_process["blank_outcomes"] == {"500": in_process["blank_images"]} and in_process["photos_failed"] == 0
    # behind Triton, every request of the failed batch failed, and the service sent each once more:
    # a 500 is exactly a request whose second try failed too (or that waited too long for its turn)
    behind_triton = rows["fastapi-triton"]["model_raises"]
    retries = behind_triton["service_retries"]
    errors = behind_triton["blank_outcomes"].get("500", 0) + behind_triton["photo_failures"].get("500", 0)
    assert behind_triton["blank_outcomes"] == {"500": behind_triton["blank_images"]}
    assert retries.get("failed again", 0) + retries.get("no turn", 0) == errors
    assert retries.get("answered", 0) > 0, "no photo was batched with a blank image: the drill tested nothing"
    # TorchServe answers a handler that raised with 503
    assert set(rows["torchserve"]["model_raises"]["blank_outcomes"]) == {"503"}


def test_a_killed_worker_is_replaced_by_the_servers_that_supervise_workers(comparison):
    rows = rows_by_key(comparison[0])
    for row in rows.values():
        killed = row["killed_worker"]
        assert killed["workers_before"] >= 1 and killed["requests"] > 0
        assert killed["failed"] == sum(killed["failures"].values())
    # TorchServe's front end restarts a dead Python worker
    assert rows["torchserve"]["killed_worker"]["replaced_after_s"] is not None
    # the in-process model dies with the service: nothing local restarts it (compose's restart policy would)
    in_process = rows["fastapi-onnxruntime"]["killed_worker"]
    assert in_process["failed"] > 0 and not in_process["answering_again"] and in_process["replaced_after_s"] is None


def test_a_hung_worker_is_recorded_and_resumes(comparison):
    rows = rows_by_key(comparison[0])
    for row in rows.values():
        hung = row["hung_worker"]
        assert sum(hung["outcomes"].values()) > 0, row["key"]
    # frozen, the in-process service answers nothing, not even its health check, until SIGCONT
    in_process = rows["fastapi-onnxruntime"]["hung_worker"]
    assert in_process["answered_while_hung"] == 0 and in_process["health_ok_while_hung"] == 0
    assert in_process["outcomes"].get("answered after SIGCONT", 0) > 0  # held, not lost
    assert in_process["answering_after"] and not in_process["hung_worker_killed_by_server"]


def test_a_graceful_stop_is_followed_to_the_end(comparison):
    for row in comparison[0]["results"]:
        stop = row["graceful_stop"]
        assert 0 <= stop["in_flight_answered"] <= stop["in_flight_at_signal"] <= server_drills.SHUTDOWN_CLIENTS
        assert stop["answered_after_signal"] <= stop["sent_after_signal"]
    # uvicorn finishes what it accepted before it exits
    service = rows_by_key(comparison[0])["fastapi-onnxruntime"]["graceful_stop"]
    assert service["in_flight_answered"] == service["in_flight_at_signal"] > 0 and service["exited_after_s"]


def test_tables_and_chart_name_every_stack(comparison):
    result, paths = comparison
    speed, drills, chart = paths[1].read_text(), paths[2].read_text(), paths[3]
    for row in result["results"]:
        assert f"| {row['name']} |" in speed and f"| {row['name']} |" in drills
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_lines_skip_blank_lines_and_comments(tmp_path):
    config = tmp_path / "config.properties"
    config.write_text("# a comment\n\nport=1\n  # indented comment\nworkers=2\n")
    assert bench_servers.config_lines([config]) == 2


def test_torchserve_refuses_to_start_without_java(monkeypatch, tmp_path):
    monkeypatch.setattr(servers, "java_missing", lambda: "no java here")
    with pytest.raises(StudyError, match="no java here"):
        with servers.torchserve(tmp_path / "model.onnx", tmp_path, lambda _: None):
            pass


@pytest.mark.parametrize(
    ("status", "message", "unavailable"),
    [
        ("StatusCode.INTERNAL", "Stub process 'efficientnet_lite0_0_0' is not healthy.", True),  # its process died
        ("StatusCode.UNAVAILABLE", "failed to connect", True),
        ("StatusCode.INTERNAL", "unexpected shape for input 'input'", False),  # a real error stays one
    ],
)
def test_a_dead_model_process_is_unavailable_not_an_internal_error(status, message, unavailable):
    """The serving comparison killed the process of Triton's model instance: the service answered
    500 until Triton's message was read as what it is, the model being unavailable (503)."""
    import asyncio

    from tritonclient.utils import InferenceServerException

    from image_classification.triton_client import TritonClassifierClient, TritonUnavailable

    async def fails():
        raise InferenceServerException(msg=message, status=status)

    expected = TritonUnavailable if unavailable else InferenceServerException
    with pytest.raises(expected):
        asyncio.run(TritonClassifierClient._call(fails()))
