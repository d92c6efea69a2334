"""The S3 route: the archive output, its object layout and the sizes it rejects."""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from components.agent.routes import RenderError, RouteDefaults, S3Route

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def s3(**overrides: Any) -> S3Route:
    data: dict[str, Any] = {"type": "s3", "name": "archive", "bucket": "audit-archive-1"}
    data["region"] = "eu-west-1"
    data.update(overrides)
    return S3Route.model_validate(data)


def fluent_bit_key(key_format: str, tag: str, uuid: str, when: datetime) -> str:
    """An object key the way out_s3 builds it: $TAG, $UUID, strftime (UTC), minus the '/'."""
    return when.strftime(key_format.replace("$TAG", tag).replace("$UUID", uuid)).lstrip("/")


def test_s3_output_has_the_archive_settings() -> None:
    out = s3(uploadTimeout="5m", storeDirLimitSize="2G").output(DEFAULTS)
    assert out["name"] == "s3"
    assert out["alias"] == "archive"
    assert out["match"] == "audit.*"
    assert out["bucket"] == "audit-archive-1"
    assert out["region"] == "eu-west-1"
    assert out["compression"] == "gzip"
    assert out["upload_timeout"] == "5m"
    assert out["store_dir"] == "/var/fluent-bit/s3/archive"
    assert out["store_dir_limit_size"] == "2G"
    assert out["retry_limit"] == "100000"  # a number: the plugin caps no_limits to 5
    assert out["use_put_object"] == "on"
    assert out["send_content_md5"] == "on"
    assert (out["format"], out["json_date_key"], out["json_date_format"]) == (
        "json_lines",
        "date",
        "iso8601",
    )


def test_s3_never_sets_role_arn_nor_the_engine_storage_limit() -> None:
    out = s3().output(DEFAULTS)
    assert "role_arn" not in out
    assert "storage.total_limit_size" not in out  # S3 warns: use store_dir_limit_size


def test_s3_key_is_partitioned_by_hour_and_unique_per_upload() -> None:
    key_format = str(s3(keyPrefix="audit/prod").output(DEFAULTS)["s3_key_format"])
    assert key_format.startswith("/audit/prod/$TAG/")
    assert "$UUID" in key_format
    assert re.search(r"%Y/%m/%d/%H/", key_format)
    assert key_format.endswith(".jsonl.gz")


def test_s3_layout_parses_the_keys_fluent_bit_writes() -> None:
    route = s3(keyPrefix="audit/prod")
    when = datetime(2025, 3, 9, 7, 5, 42, tzinfo=UTC)
    key = fluent_bit_key(route.layout.key_format, "audit.syslog", "Ab3dE6g8", when)
    parsed = route.layout.parse_key(key)
    assert parsed == {
        "tag": "audit.syslog",
        "year": "2025",
        "month": "03",
        "day": "09",
        "hour": "07",
        "minute": "05",
        "second": "42",
        "uuid": "Ab3dE6g8",
    }
    assert key.startswith(route.layout.hour_prefix("audit.syslog", when))
    assert route.layout.parse_key("other/" + key) is None


def test_s3_layout_hour_prefix_is_in_utc() -> None:
    local = datetime(2025, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert s3().layout.hour_prefix("audit.syslog", local) == (
        "container-audit/audit.syslog/2024/12/31/23/"
    )


def test_s3_layout_describes_the_record_format() -> None:
    layout = s3().layout
    assert (layout.record_format, layout.date_key, layout.date_format) == (
        "json_lines",
        "date",
        "iso8601",
    )
    assert layout.compression == "gzip"
    assert (
        s3(compression="none", uploadChunkSize="10M", totalFileSize="20M").layout.compression
        is None
    )


def test_s3_endpoint_is_passed_for_s3_compatible_stores() -> None:
    out = s3(endpoint="http://127.0.0.1:9000").output(DEFAULTS)
    assert out["endpoint"] == "http://127.0.0.1:9000"


def test_s3_without_bucket_fails_to_render_with_the_route_name() -> None:
    route = S3Route.model_validate({"type": "s3", "name": "archive", "region": "eu-west-1"})
    with pytest.raises(RenderError, match=r"route 'archive': bucket=None"):
        route.output(DEFAULTS)


def test_s3_resolved_fills_only_what_is_missing_and_validates() -> None:
    unset = S3Route.model_validate({"type": "s3", "name": "archive"})
    resolved = unset.resolved("stack-bucket-1", "us-east-2", "audit/dev/")
    assert (resolved.bucket, resolved.region) == ("stack-bucket-1", "us-east-2")
    assert resolved.layout.key_prefix == "audit/dev/"
    own_bucket = s3().resolved("stack-bucket-1", "us-east-2", "audit/dev/")
    assert own_bucket.bucket == "audit-archive-1"
    assert own_bucket.layout.key_prefix == "container-audit/"  # not the stack's prefix
    with pytest.raises(ValidationError, match="bucket"):
        unset.resolved("Not_A_Bucket", "us-east-2", "audit/")


def test_gzip_uploads_are_put_object_of_at_most_50m() -> None:
    """Measured: gzip shrinks audit records ~23x, so no gzip part reaches S3's 5 MiB minimum."""
    out = s3().output(DEFAULTS)
    assert (out["use_put_object"], out["total_file_size"], out["compression"]) == (
        "on",
        "50M",
        "gzip",
    )
    assert "upload_chunk_size" not in out  # the plugin uses total_file_size as the unit
    assert s3(totalFileSize="20M").output(DEFAULTS)["total_file_size"] == "20M"
    with pytest.raises(ValidationError, match=r"totalFileSize 60M \(60000000 bytes\).*PutObject"):
        s3(totalFileSize="60M")


def test_gzip_multipart_is_refused_with_the_measured_ratio() -> None:
    with pytest.raises(ValidationError, match=r"usePutObject false with compression gzip.*23\.5x"):
        s3(usePutObject=False)
    with pytest.raises(ValidationError, match=r"uploadChunkSize 30M applies to multipart"):
        s3(uploadChunkSize="30M")


def test_uncompressed_uploads_are_multipart() -> None:
    out = s3(compression="none").output(DEFAULTS)
    assert (out["use_put_object"], out["upload_chunk_size"], out["total_file_size"]) == (
        "off",
        "50M",
        "100M",
    )
    assert "compression" not in out


def test_s3_total_below_twice_the_chunk_is_rejected_with_numbers() -> None:
    with pytest.raises(
        ValidationError, match=r"totalFileSize 59M \(59000000 bytes\).*uploadChunkSize 30M"
    ):
        s3(compression="none", uploadChunkSize="30M", totalFileSize="59M")


def test_s3_uncompressed_chunk_below_the_multipart_minimum_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"uploadChunkSize 5M \(5000000 bytes\)"):
        s3(compression="none", uploadChunkSize="5M", totalFileSize="20M")


def test_s3_store_dir_limit_must_hold_a_chunk() -> None:
    with pytest.raises(ValidationError, match=r"storeDirLimitSize 10M"):
        s3(storeDirLimitSize="10M")


def test_s3_upload_timeout_below_a_minute_is_rejected() -> None:
    with pytest.raises(ValidationError, match="uploadTimeout 30s"):
        s3(uploadTimeout="30s")


def test_s3_plain_http_endpoint_is_refused_outside_dev() -> None:
    route = s3(endpoint="http://minio.local:9000")
    assert route.check_environment("local") == []
    assert "plain http" in route.check_environment("prod")[0]


@pytest.mark.parametrize("value", ["no_limits", 5, 999])
def test_s3_retry_limits_the_plugin_would_quarantine_early_are_rejected(value: object) -> None:
    # The real agent's quarantine after no_limits (capped to 5) is shown by the fault suite
    # (tests/tooling/faults/test_s3_outage.py); here: the route refuses it, in one line.
    with pytest.raises(
        ValidationError, match=rf"retryLimit {value!r}: accepted is a number >= 1000"
    ):
        s3(retryLimit=value)
    assert s3(retryLimit=1000).output(DEFAULTS)["retry_limit"] == "1000"
