"""The server under test and small helpers around it.

`cargo xtask ci:openai-sdk` starts orchestratord with `orchestratord.yaml` and runs this suite
with `ORCHD_OPENAI_BASE_URL` (`http://127.0.0.1:<port>`), `ORCHD_CONTROL_KEY` (the control key it
configured), `ORCHD_OPENAI_MODEL` (the model the completion tests ask for) and
`ORCHD_OPENAI_MODELS` (every model served, comma-separated) set. `ci:haiku:cpu` runs it again
against a llama.cpp pool, with `-m "not sim_only"`. The task API and `/metrics` are read with the standard library, so that
the only client under test is the official SDK.
"""

import json
import os
import time
import urllib.request

import openai
import pytest

# A bound on waiting for the server to reach a state, so that a broken server fails the test
# instead of hanging the suite. Never an expectation about how fast anything is.
STATE_BOUND_S = 60.0


def base_url() -> str:
    return required("ORCHD_OPENAI_BASE_URL").rstrip("/")


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `cargo xtask ci:openai-sdk`")
    return value


@pytest.fixture(scope="session")
def model() -> str:
    """The model the completion tests ask for."""
    return required("ORCHD_OPENAI_MODEL")


@pytest.fixture(scope="session")
def served_models() -> list:
    """Every model the server serves, sorted."""
    return sorted(required("ORCHD_OPENAI_MODELS").split(","))


@pytest.fixture(scope="session")
def client() -> openai.OpenAI:
    """The official SDK pointed at orchestratord, without its own retries."""
    return openai.OpenAI(base_url=f"{base_url()}/v1", api_key="unused", max_retries=0)


def get_json(path: str) -> dict:
    with urllib.request.urlopen(f"{base_url()}{path}") as response:
        return json.load(response)


def metric(name: str, **labels: str) -> float:
    """The value of one series of `/metrics` (which needs the control key)."""
    request = urllib.request.Request(
        f"{base_url()}/metrics",
        headers={"Authorization": f"Bearer {os.environ['ORCHD_CONTROL_KEY']}"},
    )
    with urllib.request.urlopen(request) as response:
        text = response.read().decode()
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        if not series.startswith(name + "{"):
            continue
        present = series[len(name) + 1 : -1].split(",")
        if all(pair in present for pair in wanted.split(",")):
            return float(value)
    raise AssertionError(f"/metrics has no series {name}{{{wanted}}}")


def wait_until(what: str, probe):
    """Polls `probe` until it returns something truthy; fails naming `what` past the bound."""
    give_up = time.monotonic() + STATE_BOUND_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > give_up:
            pytest.fail(f"the server never reached this state: {what}")
        time.sleep(0.02)


def slow_pool_idle() -> bool:
    return (
        metric("orchd_tasks_running", pool="slow") == 0
        and metric("orchd_queue_depth", pool="slow", priority="interactive") == 0
    )


@pytest.fixture
def slow_pool():
    """The `slow` pool, idle before the test and again after it (its tasks end when their
    streams close)."""
    wait_until("the slow pool is idle", slow_pool_idle)
    yield "sim-slow"
    wait_until("the slow pool is idle again", slow_pool_idle)


def chunk_text(chunk) -> str:
    """The generated text a chunk carries, of a chat completion (`delta.content`) or a text
    completion (`text`); empty when it carries none."""
    if not chunk.choices:
        return ""
    choice = chunk.choices[0]
    delta = getattr(choice, "delta", None)
    return (delta.content if delta is not None else choice.text) or ""


def first_text(stream) -> str:
    """Reads `stream` up to its first chunk with generated text, which proves the task holds a
    slot; returns that chunk's id."""
    for chunk in stream:
        if chunk_text(chunk):
            return chunk.id
    raise AssertionError("the stream ended before any text")
