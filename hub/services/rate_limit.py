"""Per-device rate limits: a token bucket per device, so one flooding device cannot starve the rest.

A device earns ``rate_per_s`` tokens a second up to ``burst``; each message spends one. The burst is
generous on purpose: a device back from an outage replays its buffer at once, and that must pass.
Pure logic over a monotonic clock given by the caller, so it is testable without waiting.
"""

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class DeviceRateLimiter:
    """Decides, message by message, whether a device is within its rate."""

    def __init__(self, *, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least one message")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, device_id: str, at: float) -> bool:
        """Spend one token of ``device_id``'s bucket at monotonic time ``at``; False when it is empty."""
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(tokens=float(self.burst), updated=at)
        elapsed = max(0.0, at - bucket.updated)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
        bucket.updated = at
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
