"""The S3 route (the audit archive) and the layout of the objects it writes."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from components.render.names import check_bucket_name
from components.render.routes.base import (
    AWS_REGION_PATTERN,
    DATE_FORMAT,
    DATE_KEY,
    RECORD_FORMAT,
    SIZE_PATTERN,
    TIME_PATTERN,
    Properties,
    RenderError,
    RouteBase,
    RouteDefaults,
    on_off,
    parse_duration,
    parse_size,
)

# S3 limits enforced by Fluent Bit's s3 plugin at start-up (plugins/out_s3/s3.c).
S3_MIN_PART_BYTES = 5_242_880  # multipart parts other than the last must be >= 5 MiB
S3_MIN_COMPRESSED_CHUNK_BYTES = 30_000_000  # gzip shrinks ~10x: keep parts above 5 MiB
S3_MAX_CHUNK_BYTES = 50_000_000  # uncompressed multipart chunk limit
S3_MAX_PUT_OBJECT_BYTES = 50_000_000
S3_MAX_FILE_BYTES = 50_000_000_000
S3_MIN_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class S3ObjectLayout:
    """Where and how an S3 route writes, for the tools that read the archive back (verify).

    Keys: `<key_prefix><tag>/YYYY/MM/DD/HH/MMSS-<uuid><suffix>`, the time being the UTC time
    of the first record in the object. Bodies: one JSON object per line; the record time is
    under `date_key` as ISO 8601 UTC; gzip when `compression` is "gzip" (a gzip body may hold
    several gzip members, and Fluent Bit uploads plain text if compressing fails, so readers
    should sniff the 1f8b magic bytes).
    """

    bucket: str | None
    key_prefix: str
    key_format: str
    key_regex: str
    suffix: str
    record_format: str
    date_key: str
    date_format: str
    compression: str | None

    def hour_prefix(self, tag: str, when: datetime) -> str:
        """Key prefix of every object whose first record falls in the hour of `when` (UTC)."""
        utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        return f"{self.key_prefix}{tag}/{utc:%Y/%m/%d/%H}/"

    def parse_key(self, key: str) -> dict[str, str] | None:
        """tag, year, month, day, hour, minute, second and uuid of an object key, or None."""
        match = re.fullmatch(self.key_regex, key)
        return match.groupdict() if match else None


DEFAULT_KEY_PREFIX = "container-audit"


class S3Route(RouteBase):
    """The audit archive: gzip JSON lines in S3, buffered on the node's disk (store_dir)."""

    plugin: ClassVar[str] = "s3"
    uses_engine_storage_limit: ClassVar[bool] = False

    type: Literal["s3"] = "s3"
    # The s3 plugin caps 'no_limits' to 5 (with a warning at start). A failed upload is
    # retried about once a minute (its timer: uploadTimeout / 6, between 6 s and 60 s), so 60
    # rides out roughly an hour of S3 outage; after that the plugin moves the chunk to its
    # quarantine directory on the node (retry_exhausted_action's default), it does not delete it.
    retry_limit: int = Field(
        default=60,
        ge=1,
        description=(
            "Failed uploads of a chunk before the s3 plugin quarantines it on the node (about "
            "one attempt a minute); a number, since the plugin caps 'no_limits' to 5."
        ),
    )
    bucket: str | None = Field(
        default=None,
        description="Bucket name; unset means the stack's audit bucket (filled in by __main__).",
    )
    region: str | None = Field(
        default=None,
        pattern=AWS_REGION_PATTERN,
        description="Bucket region; unset means the stack's region (filled in with the bucket).",
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$",
        description="S3-compatible endpoint (path-style), e.g. an emulator for the local stack.",
    )
    key_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$",
        description=(
            "First part of every object key (no leading or trailing slash). Unset: the "
            "stack's logPrefix on the audit bucket (the only prefix its IAM role may write), "
            f"{DEFAULT_KEY_PREFIX!r} on a bucket of the route's own."
        ),
    )
    compression: Literal["gzip", "none"] = "gzip"
    upload_chunk_size: str = Field(
        default="50M",
        pattern=SIZE_PATTERN,
        description="Uncompressed bytes per multipart part; >= 30M with gzip (parts >= 5 MiB).",
    )
    total_file_size: str = Field(
        default="100M",
        pattern=SIZE_PATTERN,
        description="Object size that completes an upload; at least twice upload_chunk_size.",
    )
    upload_timeout: str = Field(
        default="10m",
        pattern=TIME_PATTERN,
        description="Longest time data waits on the node before it is uploaded (latency bound).",
    )
    store_dir: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$",
        description="Node hostPath directory of this route's buffer; default <storage>/s3/<name>.",
    )
    store_dir_limit_size: str = Field(
        default="1G",
        pattern=SIZE_PATTERN,
        description="Disk bound of the route's node buffer.",
    )
    use_put_object: bool = Field(
        default=False,
        description="PutObject instead of multipart; objects are then at most 50M.",
    )
    send_content_md5: bool = Field(
        default=True,
        description="Content-MD5 on uploads; S3 requires it when the bucket has Object Lock.",
    )
    storage_class: (
        Literal["STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "ONEZONE_IA"] | None
    ) = None

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str | None) -> str | None:
        return None if value is None else check_bucket_name(value)

    @model_validator(mode="after")
    def _sizes_fit_the_plugin(self) -> "S3Route":
        chunk = parse_size(self.upload_chunk_size)
        total = parse_size(self.total_file_size)
        limit = parse_size(self.store_dir_limit_size)
        where = f"route {self.name!r}"
        if total < S3_MIN_FILE_BYTES or total > S3_MAX_FILE_BYTES:
            raise ValueError(
                f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be between "
                f"{S3_MIN_FILE_BYTES} and {S3_MAX_FILE_BYTES} bytes"
            )
        if self.use_put_object:
            if total > S3_MAX_PUT_OBJECT_BYTES:
                raise ValueError(
                    f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be at "
                    f"most {S3_MAX_PUT_OBJECT_BYTES} bytes with usePutObject: true"
                )
        elif self.compression == "gzip" and chunk < S3_MIN_COMPRESSED_CHUNK_BYTES:
            raise ValueError(
                f"{where}: uploadChunkSize {self.upload_chunk_size} ({chunk} bytes) must be at "
                f"least 30M ({S3_MIN_COMPRESSED_CHUNK_BYTES} bytes) with compression gzip, so "
                f"compressed parts stay above the 5 MiB multipart minimum"
            )
        elif not S3_MIN_PART_BYTES <= chunk <= S3_MAX_CHUNK_BYTES:
            raise ValueError(
                f"{where}: uploadChunkSize {self.upload_chunk_size} ({chunk} bytes) must be "
                f"between {S3_MIN_PART_BYTES} and {S3_MAX_CHUNK_BYTES} bytes without compression"
            )
        if total < 2 * chunk:
            raise ValueError(
                f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be at least "
                f"twice uploadChunkSize {self.upload_chunk_size} ({2 * chunk} bytes)"
            )
        if limit < chunk:
            raise ValueError(
                f"{where}: storeDirLimitSize {self.store_dir_limit_size} ({limit} bytes) must be "
                f"at least uploadChunkSize {self.upload_chunk_size} ({chunk} bytes)"
            )
        if parse_duration(self.upload_timeout) < 60:
            raise ValueError(
                f"{where}: uploadTimeout {self.upload_timeout} must be at least 1m "
                f"(each upload is one request per node)"
            )
        return self

    def resolved(self, bucket: str, region: str, log_prefix: str) -> "S3Route":
        """This route with the stack's bucket, region and log prefix where it has none."""
        data = self.model_dump()
        if self.bucket is None and self.key_prefix is None:
            data["key_prefix"] = log_prefix.strip("/")
        data["bucket"] = self.bucket or bucket
        data["region"] = self.region or region
        return S3Route.model_validate(data)

    @property
    def prefix(self) -> str:
        return self.key_prefix or DEFAULT_KEY_PREFIX

    def resolved_store_dir(self, defaults: RouteDefaults) -> str:
        return self.store_dir or f"{defaults.s3_store_base}/{self.name}"

    @property
    def suffix(self) -> str:
        return ".jsonl.gz" if self.compression == "gzip" else ".jsonl"

    @property
    def s3_key_format(self) -> str:
        # Fluent Bit 5.1 substitutes $TAG, $TAG[n], $INDEX and $UUID (8 random alphanumerics),
        # then strftime() in UTC with the time of the object's first record.
        return f"/{self.prefix}/$TAG/%Y/%m/%d/%H/%M%S-$UUID{self.suffix}"

    @property
    def layout(self) -> S3ObjectLayout:
        key_regex = (
            re.escape(f"{self.prefix}/")
            + r"(?P<tag>[^/]+)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<hour>\d{2})/"
            + r"(?P<minute>\d{2})(?P<second>\d{2})-(?P<uuid>[A-Za-z0-9]+)"
            + re.escape(self.suffix)
        )
        return S3ObjectLayout(
            bucket=self.bucket,
            key_prefix=f"{self.prefix}/",
            key_format=self.s3_key_format,
            key_regex=key_regex,
            suffix=self.suffix,
            record_format=RECORD_FORMAT,
            date_key=DATE_KEY,
            date_format=DATE_FORMAT,
            compression=None if self.compression == "none" else self.compression,
        )

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        if self.bucket is None or self.region is None:
            raise RenderError(
                f"route {self.name!r}: bucket={self.bucket!r} region={self.region!r}; an S3 route "
                f"needs both: set them in the route or resolve the stack's audit bucket first "
                f"(AgentSettings.with_default_bucket)"
            )
        # No role_arn, ever: with IRSA the pod already holds the role's web-identity
        # credentials, and role_arn would make the role AssumeRole itself, which fails.
        props: Properties = {
            "bucket": self.bucket,
            "region": self.region,
            "s3_key_format": self.s3_key_format,
            "total_file_size": self.total_file_size,
            "upload_chunk_size": self.upload_chunk_size,
            "upload_timeout": self.upload_timeout,
            "store_dir": self.resolved_store_dir(defaults),
            "store_dir_limit_size": self.store_dir_limit_size,
            "use_put_object": on_off(self.use_put_object),
            "send_content_md5": on_off(self.send_content_md5),
            "format": RECORD_FORMAT,
            "json_date_key": DATE_KEY,
            "json_date_format": DATE_FORMAT,
        }
        if self.compression == "gzip":
            props["compression"] = "gzip"
        if self.endpoint is not None:
            props["endpoint"] = self.endpoint
        if self.storage_class is not None:
            props["storage_class"] = self.storage_class
        return props

    def check_environment(self, environment: str) -> list[str]:
        if environment in ("staging", "prod") and (self.endpoint or "").startswith("http://"):
            return [
                f"route {self.name!r}: endpoint {self.endpoint!r} is plain http, which is not "
                f"allowed in {environment}"
            ]
        return []
