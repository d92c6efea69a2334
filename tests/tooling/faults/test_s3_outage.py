"""An S3 outage longer than the S3 plugin's own retries, with the real agent and rsyslogd.

Short version of the `make faults` rows: a 50 s outage at a 5 s upload timeout. With the
plugin's cap (retry_limit no_limits -> 5) the file being retried is quarantined after ~40 s
of outage and its records never reach the archive (the "before #11" row of `make faults`);
with the rendered retry_limit every event arrives.
"""

from __future__ import annotations

import pytest

from tooling.faults.rig import find_rsyslogd
from tooling.faults.run import Settings, run_fresh
from tooling.faults.scenarios import Scenario, s3_outage


def test_s3_refusing_connections_for_50s_loses_nothing(fluent_bit: str) -> None:
    rsyslogd = find_rsyslogd()
    if rsyslogd is None:
        pytest.skip("needs rsyslogd: apt-get install rsyslog")
    settings = Settings(fluent_bit, rsyslogd, rate=100, upload_timeout_s=5, quiet_s=4)
    scenario = Scenario(
        "S3 refuses connections 50 s",
        s3_outage(50, "refuse"),
        stream_s=54,  # until S3 is back
        fault_at_s=4,
        outage_s=50,
    )
    result = run_fresh(scenario, settings, log=lambda _: None)
    assert result.sent == 5400, result
    assert (result.lost, result.seq_gaps) == (0, 0), result
    assert result.verdict == "OK", result
    assert not [n for n in result.notes if "will not retry" in n or "quarantine" in n], result
