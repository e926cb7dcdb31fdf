"""schemathesis hooks for `cargo xtask ci:schemathesis`, loaded by `schemathesis.toml`.

One check, `completion_500_ends_a_task`. A non-streamed completion whose task ends with an
error event answers 500 with that event's code (ORCH-2219), so `schemathesis.toml` lets a 500
through `not_a_server_error` on the two completion operations. This check keeps every other
500 a failure: the body must be OpenAI's error shape of type `server_error` whose code is one
of the codes that end a task. A 500 of any other code (`INTERNAL`) or shape is a fault of the
server.
"""

import schemathesis

# The codes of the error events that end a task (`.specs/orchestrator-spec.md`, ORCH-2006).
TASK_ENDING_CODES = frozenset(
    {
        "QUEUE_EVICTED",
        "SHED_LOW_PRIORITY",
        "DEADLINE_EXCEEDED",
        "DRAIN_DEADLINE",
        "TIMEOUT_WALL",
        "TIMEOUT_IDLE",
        "CANCELLED",
        "ENGINE_ERROR",
    }
)


@schemathesis.check
def completion_500_ends_a_task(ctx, response, case):
    """A 500 is only ever a task's error event, in OpenAI's error shape."""
    if response.status_code != 500:
        return None
    try:
        error = response.json()["error"]
        code, kind = error["code"], error["type"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AssertionError(f"a 500 without OpenAI's error shape: {exc!r}") from None
    if kind != "server_error" or code not in TASK_ENDING_CODES:
        raise AssertionError(
            f"a 500 of type {kind!r} and code {code!r}: only an error event that ends a task "
            f"({', '.join(sorted(TASK_ENDING_CODES))}) may answer 500"
        )
    return None
