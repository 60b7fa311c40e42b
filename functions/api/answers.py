"""What the API answers, as pydantic models: the OpenAPI document describes each route's
success answer from these (a route names its model with `answer=`), and the fuzzer
(tests/infra/test_api_fuzz.py) checks every real answer against them.

They describe; they do not build: views still return plain JSON. Fields a caller can count
on are required; objects allow more properties (an answer may grow without breaking
anyone), so the schemas say what is promised, not all that is sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


def answer_model(name: str) -> type[BaseModel]:
    """The answer model called `name`."""
    found = globals().get(name)
    if not (isinstance(found, type) and issubclass(found, Answer)):
        raise KeyError(f"no answer model named {name!r} in functions.api.answers")
    return found


__all__ = ["Answer", "Any", "answer_model"]
