"""Circuit breaker states with a controlled clock."""

from kiosk.runtime.breaker import CircuitBreaker


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_opens_after_threshold_and_probes_once():
    clock = Clock()
    b = CircuitBreaker(failure_threshold=2, reset_after_s=30, clock=clock)
    assert b.allow() and b.state == "closed"
    b.record_failure()
    assert b.state == "closed"
    b.record_failure()
    assert b.state == "open" and not b.allow() and b.times_opened == 1
    clock.t += 29.9
    assert not b.allow()
    clock.t += 0.2
    assert b.state == "half_open"
    assert b.allow()            # the probe
    assert not b.allow()        # only one at a time
    b.record_failure()          # probe failed: open again, full wait
    assert b.state == "open" and b.times_opened == 2
    clock.t += 30
    assert b.allow()
    b.record_success()
    assert b.state == "closed" and b.allow() and b.retry_in_s() == 0


def test_success_resets_the_count():
    b = CircuitBreaker(failure_threshold=2, clock=Clock())
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state == "closed"
