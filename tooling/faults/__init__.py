"""The fault suite: real Fluent Bit, real rsyslogd and moto on loopback, one fault per run."""
