"""tooling.archive: decoding object bodies and latency percentiles."""

from __future__ import annotations

import gzip

import pytest

from tooling.archive import UnreadableObjectError, decode_body, percentile


def test_bodies_gzip_members_plain_text_and_garbage() -> None:
    lines = [b'{"a":1}\n', b'{"a":2}\n', b'{"a":3}\n']
    members = b"".join(gzip.compress(line) for line in lines)
    assert [r["a"] for r in decode_body(members)] == [1, 2, 3]
    # Fluent Bit uploads plain text when compression fails.
    assert [r["a"] for r in decode_body(b"".join(lines))] == [1, 2, 3]
    with pytest.raises(UnreadableObjectError, match="corrupt gzip"):
        decode_body(members[:-5])
    with pytest.raises(UnreadableObjectError, match="not JSON lines"):
        decode_body(b"hello\nworld\n")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
