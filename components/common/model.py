"""The base of every config model: camelCase keys in the stack files, snake_case in Python.

Pure (no Pulumi imports) so renderers and the policy tooling can share it.
"""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Immutable, strict about unknown keys, camelCase aliases (Pulumi config convention)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )
