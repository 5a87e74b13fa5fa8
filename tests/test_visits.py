"""The current visit: opened by a question or an engaged visitor, closed when they leave or go idle."""

from __future__ import annotations

import pytest

from dialogue.visits import VisitTracker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_question_opens_a_visit_and_idle_closes_it():
    clock = Clock()
    visits = VisitTracker(idle_timeout_s=60, clock=clock)
    session, events = visits.on_input()
    assert [(e.event, e.reason, e.session_id) for e in events] == [("started", "first_input", session)]
    assert visits.on_input() == (session, [])
    clock.now = 59
    assert visits.tick() == []
    clock.now = 120
    assert [(e.event, e.reason) for e in visits.tick()] == [("ended", "idle_timeout")]
    assert visits.session_id is None
    assert visits.on_input()[0] != session  # the next visitor gets a fresh session


def test_engaged_visitor_opens_and_leaving_closes_only_their_visit():
    visits = VisitTracker()
    events = visits.on_engaged("p1")
    assert [(e.event, e.reason) for e in events] == [("started", "visitor_engaged")]
    assert visits.on_engaged("p1") == []
    assert visits.on_left("p2") == []  # someone else walking away changes nothing
    assert [(e.event, e.reason) for e in visits.on_left("p1")] == [("ended", "visitor_left")]


def test_camera_confirms_a_visitor_who_already_spoke():
    visits = VisitTracker()
    session, _ = visits.on_input()
    assert visits.on_engaged("p7") == []
    assert visits.session_id == session and visits.person_id == "p7"


def test_a_new_engaged_person_replaces_the_previous_visit():
    visits = VisitTracker()
    visits.on_engaged("p1")
    events = visits.on_engaged("p2")
    assert [(e.event, e.reason) for e in events] == [("ended", "visitor_left"), ("started", "visitor_engaged")]
    assert visits.end("restart")[0].reason == "restart"
    assert visits.end("restart") == []


def test_bad_timeout_is_refused():
    with pytest.raises(ValueError):
        VisitTracker(idle_timeout_s=0)
