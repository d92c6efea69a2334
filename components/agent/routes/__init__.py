"""Typed Fluent Bit output routes: one pydantic class per route type, one module each.

A route is one `outputs:` entry of the Fluent Bit pipeline. Each class knows its plugin name
and returns the plugin's properties (`output`), the Kubernetes secrets it reads through
environment variables (`secret_env`), and for S3 where its buffer lives and what it writes.
Adding a route type is one new module here (a RouteBase subclass with a `type` literal)
plus its import and its member in the `Route` union below.

Pure: no Pulumi imports.
"""

from typing import Annotated

from pydantic import Field

from components.agent.routes.base import (
    SIZE_PATTERN,
    TIME_PATTERN,
    Properties,
    RenderError,
    RouteBase,
    RouteDefaults,
    SecretRef,
    on_off,
    parse_duration,
    parse_size,
)
from components.agent.routes.cloudwatch_logs import CloudWatchLogsRoute
from components.agent.routes.forward import ForwardRoute
from components.agent.routes.loki import LokiRoute
from components.agent.routes.opensearch import OpenSearchRoute
from components.agent.routes.s3 import S3ObjectLayout, S3Route
from components.agent.routes.stdout import StdoutRoute

Route = Annotated[
    S3Route | OpenSearchRoute | CloudWatchLogsRoute | LokiRoute | ForwardRoute | StdoutRoute,
    Field(discriminator="type"),
]

__all__ = [
    "SIZE_PATTERN",
    "TIME_PATTERN",
    "CloudWatchLogsRoute",
    "ForwardRoute",
    "LokiRoute",
    "OpenSearchRoute",
    "Properties",
    "RenderError",
    "Route",
    "RouteBase",
    "RouteDefaults",
    "S3ObjectLayout",
    "S3Route",
    "SecretRef",
    "StdoutRoute",
    "on_off",
    "parse_duration",
    "parse_size",
]
