"""The per-device token bucket: a burst passes, a flood is cut to the rate, devices do not share a bucket."""

import pytest

from hub.services.rate_limit import DeviceRateLimiter


def test_a_burst_up_to_the_limit_passes_then_the_device_is_held_to_its_rate() -> None:
    limiter = DeviceRateLimiter(rate_per_s=10, burst=50)
    assert all(limiter.allow("flood", at=0.0) for _ in range(50))
    assert not limiter.allow("flood", at=0.0)
    # One second later it has earned ten more messages, and no more.
    passed = sum(limiter.allow("flood", at=1.0) for _ in range(100))
    assert passed == 10


def test_a_quiet_device_is_not_limited_by_a_flooding_one() -> None:
    limiter = DeviceRateLimiter(rate_per_s=1, burst=5)
    for _ in range(100):
        limiter.allow("flood", at=0.0)
    assert limiter.allow("quiet", at=0.0)


def test_tokens_do_not_pile_up_beyond_the_burst() -> None:
    limiter = DeviceRateLimiter(rate_per_s=100, burst=20)
    limiter.allow("idle", at=0.0)
    passed = sum(limiter.allow("idle", at=3600.0) for _ in range(1000))
    assert passed == 20


def test_a_limit_without_a_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        DeviceRateLimiter(rate_per_s=0, burst=10)
