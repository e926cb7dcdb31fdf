"""The command line, driven the way a client in another language would: one process per
session, commands on stdin, answers on stdout. Requirement IDs go to the JUnit report as
`requirement` properties or as parameters in the test's name."""

import pytest


def test_take_and_wait_answer_one_line_each(session, record_property):
    record_property("requirement", "TB-0101")
    answers = session(["take 2", "take 1", "take 1", "wait 500", "take 1"], capacity=3, rate=2)
    assert answers == ["ok 1", "ok 0", "refused 500", "waited 500", "ok 0"]


def test_more_than_the_capacity_is_never(session, record_property):
    record_property("requirements", "TB-0101, TB-0005")
    assert session(["take 4"], capacity=3) == ["never"]


@pytest.mark.parametrize("requirement", ["TB-0102"])
def test_a_refusal_says_when_to_retry(session, requirement):
    # 1 token per second: after taking all 2, one more is 1000 ms away, two more 2000 ms.
    answers = session(["take 2", "take 1", "take 2", "wait 999", "take 1", "wait 1", "take 1"], capacity=2, rate=1)
    assert answers == ["ok 0", "refused 1000", "refused 2000", "waited 999", "refused 1", "waited 1000", "ok 0"]


@pytest.mark.parametrize("requirement", ["TB-0103"])
def test_bad_commands_get_an_error_and_the_session_goes_on(session, requirement):
    answers = session(["take many", "fly 3", "", "take 1"], capacity=3)
    assert answers[0] == "error `many` is not a whole number"
    assert answers[1].startswith("error unknown command `fly`")
    assert answers[2] == "error empty command"
    assert answers[3] == "ok 2"
