"""What the ``rules:`` and ``sinks:`` sections share: names, strict models, all-or-nothing loading.

``load_section`` validates a whole list and raises ``RuleError`` naming every problem with its
place (``source: section[index] 'name': field: message``); nothing is ever half-loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

RULE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def _valid_name(name: str) -> str:
    if not RULE_NAME_PATTERN.fullmatch(name):
        raise ValueError("use 1-100 letters, digits, '-', '_' or '.'")
    return name


Name = Annotated[str, AfterValidator(_valid_name)]
Names = tuple[Annotated[str, Field(min_length=1)], ...]


Location = tuple[str | int, ...]  # a path into the config's YAML, like ("rules", 2, "near")
FieldProblem = tuple[str | None, str]  # (field or None for the entry as a whole, message)


class RuleError(ValueError):
    """Rules or sinks that cannot be loaded; ``problems`` holds one line per error.

    ``located`` holds the same problems as (location, message) pairs, the message without the
    source, so a config check can put the YAML line in front (``file:LINE: rules[2] ...``).
    """

    def __init__(self, problems: Sequence[str],
                 located: Sequence[tuple[Location, str]] | None = None) -> None:
        self.problems = list(problems)
        self.located = list(located) if located is not None else [((), p) for p in problems]
        super().__init__("\n".join(self.problems))


class StrictModel(BaseModel):
    """A config entry: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_Model = TypeVar("_Model", bound=StrictModel)


def format_field(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(entry)"


def load_section(
    raw: Sequence[Any],
    model: type[_Model],
    section: str,
    source: str,
    extra_checks: Callable[[dict[str, Any]], list[FieldProblem]],
) -> list[_Model]:
    """Validate every entry of ``raw`` as ``model``; ``extra_checks`` adds cross-field problems."""
    if not isinstance(raw, list | tuple):
        message = f"{section}: must be a list, not {type(raw).__name__}"
        raise RuleError([f"{source}: {message}"], [((), message)])
    located: list[tuple[Location, str]] = []
    loaded: list[_Model] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(raw):
        place = f"{section}[{index}]"
        at: Location = (section, index)
        if not isinstance(item, dict):
            located.append((at, f"{place}: must be a mapping, not {type(item).__name__}"))
            continue
        name = item.get("name")
        if isinstance(name, str):
            place += f" {name!r}"
            if name in first_index:
                located.append(((*at, "name"), f"{place}: name: duplicate name (first used by "
                                               f"{section}[{first_index[name]}])"))
            first_index.setdefault(name, index)
        for field, text in extra_checks(item):
            where = at if field is None else (*at, field)
            located.append((where, f"{place}: {text}" if field is None
                            else f"{place}: {field}: {text}"))
        try:
            loaded.append(model.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                where = (*at, loc[0]) if loc and isinstance(loc[0], str) else at
                message = err["msg"].removeprefix("Value error, ")
                located.append((where, f"{place}: {format_field(loc)}: {message}"))
    if located:
        raise RuleError([f"{source}: {message}" for _, message in located], located)
    return loaded
