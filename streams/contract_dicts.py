"""A topic's contract checked straight into plain dicts: the same check, no model objects.

A stage whose logic works on dicts (the story desk) would otherwise validate a record into
its ``streams.records`` model and then ``model_dump`` it back: two passes, the second about
half the cost of the first. ``dict_decoder(model)`` is a pydantic ``TypeAdapter`` over a
``TypedDict`` derived from ``model`` (nested contract types become nested ``TypedDict``s;
dataclasses such as ``Match`` stay dataclasses), with the model's config (strict, extra
fields kept). pydantic-core parses and checks the JSON in one pass and builds the dicts
directly, and a record that breaks the contract raises the same ``ValidationError`` (same
locations and error types) as ``model.model_validate_json``. A field with a default that
is absent from the record stays absent (``model_dump`` would fill it in).
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any, NotRequired, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12


@cache
def contract_dict(model: type[BaseModel]) -> Any:
    """The ``TypedDict`` twin of ``model``, derived from its fields (cached per model)."""
    fields = {}
    for name, field in model.model_fields.items():
        annotation = _as_dicts(field.annotation)
        fields[name] = annotation if field.is_required() else NotRequired[annotation]
    typed = TypedDict(f"{model.__name__}Dict", fields)  # type: ignore[operator]
    typed.__pydantic_config__ = dict(model.model_config)  # strict, extra="allow"
    return typed


def _as_dicts(annotation: Any) -> Any:
    """``annotation`` with every model in it (``list[X]``, ``X | None``) as its twin."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return contract_dict(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is None or not args:
        return annotation
    converted = tuple(_as_dicts(arg) for arg in args)
    if converted == args:
        return annotation
    if origin in (types.UnionType, Union):
        return Union[converted]  # noqa: UP007 (a runtime-built union)
    if origin is typing.Literal:
        return annotation
    return origin[converted if len(converted) > 1 else converted[0]]


@cache
def dict_decoder(model: type[BaseModel]) -> TypeAdapter[Any]:
    """Validates JSON bytes against ``model``'s contract into plain dicts."""
    return TypeAdapter(contract_dict(model))
