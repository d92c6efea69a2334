"""The table's projection is derived from the S3 route's key format, or the plan fails."""

from __future__ import annotations

import re

import pytest

from components.agent.routes import S3Route
from components.archive.table import (
    DUCKDB_TYPES,
    archive_tags,
    projection,
    record_columns,
    render_ddl,
    table_args,
)


def _layout(**route: object) -> S3Route:
    return S3Route.model_validate({"name": "archive", "keyPrefix": "audit/dev", **route})


def test_projection_from_the_key_format() -> None:
    where = projection(_layout().layout, "b", archive_tags("audit.syslog"), 400)
    # One table over both tags' objects: the tag is a projected partition, as in the keys.
    assert where.location == "s3://b/audit/dev/"
    assert where.template == "s3://b/audit/dev/${tag}/${day}/${hour}/"
    assert where.parameters["projection.tag.type"] == "enum"
    assert where.parameters["projection.tag.values"] == "audit.syslog,audit.heartbeat"
    assert where.day_format == "yyyy/MM/dd"
    assert where.parameters["projection.day.range"] == "NOW-400DAYS,NOW"
    assert where.parameters["projection.hour.digits"] == "2"


def test_a_key_format_that_cannot_be_projected_fails() -> None:
    layout = _layout().layout
    moved = type(layout)(**{**layout.__dict__, "key_format": "/audit/dev/$TAG/%Y-%m-%d/$UUID"})
    with pytest.raises(ValueError, match="cannot be projected"):
        projection(moved, "b", archive_tags("audit.syslog"), 30)
    elsewhere = type(layout)(**{**layout.__dict__, "key_format": "/audit/$TAG/%Y/%m/%d/%H/x"})
    with pytest.raises(ValueError, match="does not put \\$TAG right after"):
        projection(elsewhere, "b", archive_tags("audit.syslog"), 30)


def test_a_tag_that_cannot_be_an_enum_value_fails() -> None:
    with pytest.raises(ValueError, match="cannot be projected"):
        archive_tags("audit,syslog")


def test_columns_unique_lowercase_and_typed_for_both_engines() -> None:
    names = [c.name for c in record_columns()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z_]+", n) for n in names)
    assert all(c.type in DUCKDB_TYPES for c in record_columns())


def test_ddl_is_the_table_args_as_sql() -> None:
    args = table_args(
        "audit_events", "d", projection(_layout().layout, "b", archive_tags("audit.syslog"), 30)
    )
    camel = {
        "name": args["name"],
        "description": args["description"],
        "parameters": args["parameters"],
        "partitionKeys": args["partition_keys"],
        "storageDescriptor": {
            "location": args["storage_descriptor"]["location"],
            "inputFormat": args["storage_descriptor"]["input_format"],
            "outputFormat": args["storage_descriptor"]["output_format"],
            "columns": args["storage_descriptor"]["columns"],
            "serDeInfo": {
                "serializationLibrary": args["storage_descriptor"]["ser_de_info"][
                    "serialization_library"
                ],
                "parameters": args["storage_descriptor"]["ser_de_info"]["parameters"],
            },
        },
    }
    ddl = render_ddl("db", camel)
    assert ddl.startswith("-- d\nCREATE EXTERNAL TABLE `db`.`audit_events` (")
    assert "`sd`" in ddl and "map<string,map<string,string>>" in ddl
    assert "PARTITIONED BY (\n  `tag`" in ddl
    assert "'storage.location.template' = 's3://b/audit/dev/${tag}/${day}/${hour}/'" in ddl


def test_ddl_parses_as_athena_hive_ddl_with_every_column() -> None:
    import sqlglot
    from sqlglot import exp

    from components.archive.table import PARTITION_KEYS

    args = table_args(
        "audit_events", "it's", projection(_layout().layout, "b", archive_tags("t.x"), 30)
    )
    storage = args["storage_descriptor"]
    camel = {
        "name": args["name"],
        "description": args["description"],
        "parameters": args["parameters"],
        "partitionKeys": args["partition_keys"],
        "storageDescriptor": {
            "location": storage["location"],
            "inputFormat": storage["input_format"],
            "outputFormat": storage["output_format"],
            "columns": storage["columns"],
            "serDeInfo": {
                "serializationLibrary": storage["ser_de_info"]["serialization_library"],
                "parameters": storage["ser_de_info"]["parameters"],
            },
        },
    }
    tree = sqlglot.parse_one(render_ddl("db", camel), read="athena")
    columns = [c.name for c in tree.find_all(exp.ColumnDef)]
    assert columns == [c.name for c in (*record_columns(), *PARTITION_KEYS)]
    comments = [c.find(exp.CommentColumnConstraint) for c in tree.find_all(exp.ColumnDef)]
    assert comments[0] is not None and comments[0].this.this == record_columns()[0].comment
