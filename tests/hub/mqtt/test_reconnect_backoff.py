"""The hub reconnects with exponential backoff and jitter, so hub workers do not return in lockstep."""

import random

from hub.mqtt.connection import RECONNECT_MAX_S, reconnect_delay


def test_reconnect_delays_grow_exponentially_to_a_cap_and_are_jittered() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(RECONNECT_MAX_S, 2**attempt)
        delays = {reconnect_delay(attempt, rng) for _ in range(200)}
        assert min(delays) >= max(1, ceiling // 2) and max(delays) <= ceiling
        if ceiling >= 4:
            assert len(delays) > 1, "jittered, not one fixed value"
    assert reconnect_delay(10_000, rng) <= RECONNECT_MAX_S
