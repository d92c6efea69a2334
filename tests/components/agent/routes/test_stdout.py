"""The stdout route: JSON lines, refused in prod."""

from components.agent.routes import RouteDefaults, StdoutRoute

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def test_stdout_is_json_lines_and_refused_in_prod() -> None:
    route = StdoutRoute(name="console")
    assert route.output(DEFAULTS)["format"] == "json_lines"
    assert "not allowed in prod" in route.check_environment("prod")[0]
    assert route.check_environment("dev") == []
