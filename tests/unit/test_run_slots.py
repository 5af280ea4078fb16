"""Run slots (federation.run_slots): at most N requests of a process compute at once, served in the order
they came; a request waiting on another party frees its slot; a slow request body holds no slot."""

from __future__ import annotations

import io
import threading

import pytest

from federation import run_slots
from federation.run_slots import RunSlotGate, RunSlots, waiting_elsewhere

WAIT = 10  # seconds: only reached if something is wrong


def _started(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _until(condition) -> None:
    done = threading.Event()
    for _ in range(1000):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("the condition never held")


@pytest.fixture
def process_slots():
    """One slot for the process, as federation.serve would set it; cleared afterwards."""
    slots = RunSlots(1, "test")
    run_slots.use(slots)
    yield slots
    run_slots.use(None)


def test_waiters_get_the_slot_in_the_order_they_came():
    slots = RunSlots(1)
    slots.acquire()
    order: list[int] = []
    queued = [0]

    def request(number: int) -> None:
        queued[0] += 1
        with slots.held():
            order.append(number)

    threads = []
    for number in range(5):
        threads.append(_started(lambda number=number: request(number)))
        _until(lambda number=number: len(slots._waiters) == number + 1)  # each queued before the next comes
    slots.release()
    for thread in threads:
        thread.join(WAIT)
    assert order == [0, 1, 2, 3, 4]


def test_no_more_than_the_slots_run_at_once():
    slots, running, most = RunSlots(2), [0], [0]
    lock, go = threading.Lock(), threading.Event()

    def request() -> None:
        with slots.held():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            go.wait(WAIT)
            with lock:
                running[0] -= 1

    threads = [_started(request) for _ in range(6)]
    _until(lambda: len(slots._waiters) == 4)
    assert running[0] == 2
    go.set()
    for thread in threads:
        thread.join(WAIT)
    assert most[0] == 2 and running[0] == 0


def test_a_request_waiting_elsewhere_lets_another_run_then_queues_again(process_slots):
    answered, other_ran, back = threading.Event(), threading.Event(), threading.Event()

    def waits_on_another_party() -> None:
        with process_slots.held():
            with waiting_elsewhere():
                assert not process_slots.holds()
                answered.wait(WAIT)  # the other party's answer
            assert process_slots.holds()
            back.set()

    first = _started(waits_on_another_party)
    _until(lambda: process_slots._free == 1)  # it gave its slot back while waiting

    def other_request() -> None:
        with process_slots.held():
            other_ran.set()

    _started(other_request).join(WAIT)
    assert other_ran.is_set() and not back.is_set()
    answered.set()
    first.join(WAIT)
    assert back.is_set() and process_slots._free == 1


def test_a_request_back_from_waiting_elsewhere_goes_before_new_ones(process_slots):
    order: list[str] = []
    answered, waiting = threading.Event(), threading.Event()

    def waits_on_another_party() -> None:
        with process_slots.held():
            with waiting_elsewhere():
                waiting.set()
                answered.wait(WAIT)
            order.append("came back")

    def new_request() -> None:
        with process_slots.held():
            order.append("new")

    process_slots.acquire()  # a long request holds the one slot throughout
    first = _started(waits_on_another_party)
    _until(lambda: len(process_slots._waiters) == 1)
    process_slots.release()  # the first gets it, then frees it to wait elsewhere
    waiting.wait(WAIT)
    process_slots.acquire()
    newcomer = _started(new_request)
    _until(lambda: len(process_slots._waiters) == 1)
    answered.set()
    _until(lambda: len(process_slots._waiters) == 2)
    process_slots.release()
    first.join(WAIT)
    newcomer.join(WAIT)
    assert order == ["came back", "new"]


def test_waiting_elsewhere_without_a_slot_changes_nothing(process_slots):
    with waiting_elsewhere():  # a thread that holds no slot (a background thread, a test calling an app)
        assert process_slots._free == 1
    run_slots.use(None)
    with waiting_elsewhere():  # no slots at all (an app called directly)
        pass
    assert process_slots._free == 1


def test_a_slot_is_given_back_when_the_app_raises():
    slots = RunSlots(1)

    def failing_app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        RunSlotGate(failing_app, slots)({"CONTENT_LENGTH": ""}, None)
    assert slots._free == 1 and not slots.holds()


class SlowBody(io.RawIOBase):
    """A request body whose bytes arrive only when the test says so (a client sending slowly)."""

    def __init__(self, body: bytes) -> None:
        self.body, self.arrived = body, threading.Event()

    def read(self, size: int = -1) -> bytes:
        self.arrived.wait(WAIT)
        return self.body


def _echo_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))]


def test_a_slow_request_body_holds_no_slot():
    slots = RunSlots(1)
    gate = RunSlotGate(_echo_app, slots)
    slow = SlowBody(b"SAMLResponse=...")
    answers: dict[str, list[bytes]] = {}

    def slow_client() -> None:
        answers["slow"] = gate({"CONTENT_LENGTH": str(len(slow.body)), "wsgi.input": slow}, lambda *a: None)

    slow_thread = _started(slow_client)
    quick = {"CONTENT_LENGTH": "5", "wsgi.input": io.BytesIO(b"hello")}
    answers["quick"] = gate(quick, lambda *a: None)  # served while the slow body is still arriving
    assert answers["quick"] == [b"hello"] and "slow" not in answers
    slow.arrived.set()
    slow_thread.join(WAIT)
    assert answers["slow"] == [slow.body]


def test_a_body_beyond_the_limit_is_left_for_the_app_to_refuse():
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        return [b""]

    unread = io.BytesIO(b"x")
    RunSlotGate(app, RunSlots(1))({"CONTENT_LENGTH": str(run_slots.MAX_BUFFERED_BODY + 1), "wsgi.input": unread}, None)
    assert seen["input"] is unread and unread.tell() == 0


def test_at_least_one_slot():
    with pytest.raises(ValueError):
        RunSlots(0)
