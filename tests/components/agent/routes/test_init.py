"""The Route union: the `type` key selects the route class."""

import pytest
from pydantic import TypeAdapter, ValidationError

from components.agent.routes import Route, StdoutRoute

ROUTE = TypeAdapter(Route)


def test_route_type_selects_the_class() -> None:
    assert isinstance(ROUTE.validate_python({"type": "stdout", "name": "console"}), StdoutRoute)
    with pytest.raises(ValidationError, match="kafka"):
        ROUTE.validate_python({"type": "kafka", "name": "k"})
