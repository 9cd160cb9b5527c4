"""The token bucket of flood control, on a fake clock: bursts pass, floods are slowed then stopped."""

from __future__ import annotations

import pytest

from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.ratelimit import FloodGuard, Flooding, RateLimit


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_each_message_waits_for_its_token() -> None:
    clock = FakeClock()
    guard = FloodGuard(RateLimit(per_second=5, burst=3, max_delayed=10), clock)
    assert [guard.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert guard.delay() == pytest.approx(0.2)
    clock.now += 0.2  # the server waited as told
    assert guard.delay() == pytest.approx(0.2)


def test_a_pause_refills_the_bucket_up_to_the_burst_only() -> None:
    clock = FakeClock()
    guard = FloodGuard(RateLimit(per_second=5, burst=3, max_delayed=10), clock)
    for _ in range(3):
        guard.delay()
    clock.now += 60
    assert [guard.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert guard.delay() > 0


def test_a_flood_that_goes_on_is_stopped_after_max_delayed_in_a_row() -> None:
    clock = FakeClock()
    guard = FloodGuard(RateLimit(per_second=10, burst=2, max_delayed=4), clock)
    guard.delay(), guard.delay()
    for _ in range(4):
        clock.now += guard.delay()
    with pytest.raises(
        Flooding, match=r"^more than 10 messages per second for too long \(4 slowed down in a row\)$"
    ):
        guard.delay()


def test_slowing_down_resets_the_count() -> None:
    clock = FakeClock()
    guard = FloodGuard(RateLimit(per_second=10, burst=1, max_delayed=2), clock)
    for _ in range(10):  # one message, one slowed, then a pause: never two slowed in a row
        guard.delay()
        clock.now += guard.delay()
        clock.now += 0.5
    assert guard.delay() == 0.0


def test_an_image_costs_more() -> None:
    guard = FloodGuard(RateLimit(per_second=1, burst=4, max_delayed=1), FakeClock())
    assert guard.delay(4) == 0.0
    assert guard.delay(4) == pytest.approx(4.0)


@pytest.mark.parametrize("bad", [{"per_second": 0}, {"burst": 0}, {"max_delayed": -1}])
def test_a_rate_limit_must_make_sense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimit(**bad)  # type: ignore[arg-type]


def test_server_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="^server limits must be positive: max_connections, hello_timeout$"):
        ServerLimits(hello_timeout=0, max_connections=-1)


def test_the_watcher_looks_often_enough_for_the_shortest_timeout() -> None:
    assert ServerLimits().watch_interval() == 2.5
    assert ServerLimits(hello_timeout=0.4, idle_timeout=1, pong_timeout=1).watch_interval() == 0.1
