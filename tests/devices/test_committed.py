"""The hub's end-to-end acknowledgement: sequence numbers as ranges, validated."""

from datetime import UTC, datetime

import pytest

from devices.codec import decode_command, encode
from devices.errors import InvalidMessage
from devices.payloads import Committed, seq_ranges

NOW = datetime.now(UTC)


def test_seq_ranges_merge_runs_in_any_order_and_ignore_repeats() -> None:
    assert seq_ranges([5, 3, 4, 1, 9, 3, 10]) == [(1, 1), (3, 5), (9, 10)]
    assert seq_ranges([]) == []


def test_a_committed_command_round_trips_and_says_what_it_covers() -> None:
    command = Committed(id="c", ts=NOW, ranges=[(0, 41), (43, 43)])
    decoded = decode_command(encode(command))
    assert decoded == command
    assert isinstance(decoded, Committed)
    assert decoded.covers(0) and decoded.covers(41) and decoded.covers(43)
    assert not decoded.covers(42) and not decoded.covers(44)
    assert decoded.up_to == 43


@pytest.mark.parametrize(
    "ranges", [b"[]", b"[[5, 4]]", b"[[-1, 2]]", b"[[1]]", b'[["a", 2]]', b"[[1, 9223372036854775808]]"]
)
def test_a_committed_command_refuses_empty_reversed_or_impossible_ranges(ranges: bytes) -> None:
    payload = b'{"v":1,"id":"c","ts":"2025-01-01T00:00:00Z","cmd":"committed","ranges":' + ranges + b"}"
    with pytest.raises(InvalidMessage):
        decode_command(payload)
