"""An S3 outage longer than the S3 plugin's own retries, with the real agent and rsyslogd.

Short version of the `make faults` rows: a 50 s outage at a 5 s upload timeout. With the
plugin's cap (retry_limit no_limits -> 5) the file being retried is quarantined after ~40 s
of outage and its records never reach the archive (the "before #11" row of `make faults`);
with the rendered retry_limit every event arrives, once.
"""

from __future__ import annotations

import os

import pytest

from tooling.faults.rig import find_fluent_bit, find_rsyslogd
from tooling.faults.suite import RunSettings, Scenario, run_scenario, s3_outage

FLUENT_BIT, RSYSLOGD = find_fluent_bit(), find_rsyslogd()


def _require() -> tuple[str, str]:
    if FLUENT_BIT is None or RSYSLOGD is None:
        missing = "fluent-bit 5.1 (on PATH or FLUENT_BIT=/path)" if FLUENT_BIT is None else ""
        missing += " rsyslogd (apt-get install rsyslog)" if RSYSLOGD is None else ""
        if os.environ.get("REQUIRE_FLUENT_BIT") == "1":
            pytest.fail(f"REQUIRE_FLUENT_BIT=1 but missing: {missing.strip()}")
        pytest.skip(f"needs {missing.strip()}; ../shared/fluent-bit/build.sh builds the agent")
    return FLUENT_BIT, RSYSLOGD


def test_s3_refusing_connections_for_50s_loses_nothing() -> None:
    fluent_bit, rsyslogd = _require()
    settings = RunSettings(fluent_bit, rsyslogd, rate=100, upload_timeout_s=5, quiet_s=8)
    scenario = Scenario(
        "S3 refuses connections 50 s",
        s3_outage(50, "refuse"),
        stream_s=58,
        fault_at_s=4,
        outage_s=50,
    )
    result = run_scenario(scenario, settings, log=lambda _: None)
    assert result.sent == 5800, result
    assert (result.distinct, result.lost) == (5800, 0), result
    assert result.verdict == "OK", result
    assert not [n for n in result.notes if "will not retry" in n or "quarantine" in n], result
