"""The S3 route (the audit archive) and the layout of the objects it writes."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from components.agent.routes.base import (
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
from components.common.names import check_bucket_name

# S3 limits enforced by Fluent Bit's s3 plugin at start-up (plugins/out_s3/s3.c).
S3_MIN_PART_BYTES = 5_242_880  # multipart parts other than the last must be >= 5 MiB
S3_MAX_CHUNK_BYTES = 50_000_000  # uncompressed multipart chunk limit
# gzip shrinks the demo's audit records 23.5x, measured with the real agent
# (bench/s3_object_sizes.py): the largest part the plugin allows (50M) compresses to ~2.1 MB,
# below S3's 5 MiB part minimum, so the agent would send every gzip part with PutObject
# anyway ("the chunk was too small, using PutObject"). With gzip, uploads are PutObject.
MEASURED_GZIP_RATIO = 23.5
S3_MAX_PUT_OBJECT_BYTES = 50_000_000
S3_MAX_FILE_BYTES = 50_000_000_000
S3_MIN_FILE_BYTES = 1_000_000

# out_s3 caps retry_limit no_limits to 5 (MAX_UPLOAD_ERRORS) and, once a file has failed
# retry_limit + 1 times, moves it to <store_dir>/quarantine, which nothing reads again:
# not the running agent, not a restarted one. A number is honoured as given. Attempt n
# waits 2*n s after the previous one (upload queue, preserve_data_ordering on), at the
# upload timer's pace at least, so n attempts span ~n*n s: 100,000 is ~300 years, i.e.
# never, and 1,000 (~11 days) is the least a route may set. After an outage of T seconds
# the next attempt comes within ~2*sqrt(T) s of S3's return (10 min: ~50 s; 1 day: ~10 min).
S3_RETRY_LIMIT = 100_000
S3_MIN_RETRY_LIMIT = 1_000


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
    retry_limit: int | Literal["no_limits"] = Field(
        default=S3_RETRY_LIMIT,
        description=(
            "Upload attempts before the plugin parks a file in its quarantine. The plugin "
            "caps 'no_limits' to 5 (about 40 s of outage), so the archive sets a number: "
            f"at least {S3_MIN_RETRY_LIMIT}, retries back off 2 s more each time, so "
            "n attempts span about n*n seconds."
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
    upload_chunk_size: str | None = Field(
        default=None,
        pattern=SIZE_PATTERN,
        description="Bytes per multipart part, 50M by default (multipart only: compression none).",
    )
    total_file_size: str | None = Field(
        default=None,
        pattern=SIZE_PATTERN,
        description=(
            "Uncompressed bytes that complete an object. Default 50M with PutObject (at most "
            "50M: about 2.1 MB of gzip for audit records), 100M multipart."
        ),
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
    use_put_object: bool | None = Field(
        default=None,
        description=(
            "PutObject instead of multipart (objects at most 50M uncompressed). Default: on "
            "with gzip, whose parts would fall below S3's 5 MiB minimum; off without."
        ),
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

    @property
    def put_object(self) -> bool:
        return self.use_put_object if self.use_put_object is not None else self.gzip

    @property
    def gzip(self) -> bool:
        return self.compression == "gzip"

    @property
    def part_size(self) -> str:
        return self.upload_chunk_size or "50M"

    @property
    def object_size(self) -> str:
        return self.total_file_size or ("50M" if self.put_object else "100M")

    @field_validator("retry_limit")
    @classmethod
    def _retries_outlast_an_outage(cls, value: int | str) -> int | str:
        if value == "no_limits" or (isinstance(value, int) and value < S3_MIN_RETRY_LIMIT):
            raise ValueError(
                f"retryLimit {value!r}: accepted is a number >= {S3_MIN_RETRY_LIMIT} (default "
                f"{S3_RETRY_LIMIT}); Fluent Bit's S3 output caps 'no_limits' to 5 retries and "
                f"then parks the data in its quarantine, where nothing uploads it"
            )
        return value

    @model_validator(mode="after")
    def _sizes_fit_the_plugin(self) -> "S3Route":
        where = f"route {self.name!r}"
        if self.gzip and self.use_put_object is False:
            raise ValueError(
                f"{where}: usePutObject false with compression gzip: audit records shrink "
                f"{MEASURED_GZIP_RATIO}x, so even a 50M part is ~2.1 MB, below S3's 5 MiB "
                f"multipart minimum, and the agent would use PutObject anyway; leave "
                f"usePutObject unset, or set compression none for multipart"
            )
        if self.put_object and self.upload_chunk_size is not None:
            raise ValueError(
                f"{where}: uploadChunkSize {self.upload_chunk_size} applies to multipart "
                f"uploads only (compression none); with PutObject, totalFileSize is the unit"
            )
        total = parse_size(self.object_size)
        chunk = total if self.put_object else parse_size(self.part_size)
        limit = parse_size(self.store_dir_limit_size)
        if total < S3_MIN_FILE_BYTES or total > S3_MAX_FILE_BYTES:
            raise ValueError(
                f"{where}: totalFileSize {self.object_size} ({total} bytes) must be between "
                f"{S3_MIN_FILE_BYTES} and {S3_MAX_FILE_BYTES} bytes"
            )
        if self.put_object:
            if total > S3_MAX_PUT_OBJECT_BYTES:
                raise ValueError(
                    f"{where}: totalFileSize {self.object_size} ({total} bytes) must be at "
                    f"most {S3_MAX_PUT_OBJECT_BYTES} bytes with PutObject (the default with gzip)"
                )
        else:
            if not S3_MIN_PART_BYTES <= chunk <= S3_MAX_CHUNK_BYTES:
                raise ValueError(
                    f"{where}: uploadChunkSize {self.part_size} ({chunk} bytes) must be "
                    f"between {S3_MIN_PART_BYTES} and {S3_MAX_CHUNK_BYTES} bytes"
                )
            if total < 2 * chunk:
                raise ValueError(
                    f"{where}: totalFileSize {self.object_size} ({total} bytes) must be at "
                    f"least twice uploadChunkSize {self.part_size} ({2 * chunk} bytes)"
                )
        if limit < chunk:
            raise ValueError(
                f"{where}: storeDirLimitSize {self.store_dir_limit_size} ({limit} bytes) must "
                f"hold one upload ({chunk} bytes)"
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
            "total_file_size": self.object_size,
            "upload_timeout": self.upload_timeout,
            "store_dir": self.resolved_store_dir(defaults),
            "store_dir_limit_size": self.store_dir_limit_size,
            "use_put_object": on_off(self.put_object),
            "send_content_md5": on_off(self.send_content_md5),
            "format": RECORD_FORMAT,
            "json_date_key": DATE_KEY,
            "json_date_format": DATE_FORMAT,
        }
        if not self.put_object:
            props["upload_chunk_size"] = self.part_size
        if self.gzip:
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
