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


class RuleError(ValueError):
    """Rules or sinks that cannot be loaded; ``problems`` holds one line per error."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
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
    extra_checks: Callable[[dict[str, Any]], list[str]],
) -> list[_Model]:
    """Validate every entry of ``raw`` as ``model``; ``extra_checks`` adds cross-field problems."""
    if not isinstance(raw, list | tuple):
        raise RuleError([f"{source}: {section}: must be a list, not {type(raw).__name__}"])
    problems: list[str] = []
    loaded: list[_Model] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(raw):
        place = f"{source}: {section}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{place}: must be a mapping, not {type(item).__name__}")
            continue
        name = item.get("name")
        if isinstance(name, str):
            place += f" {name!r}"
            if name in first_index:
                where = f"{section}[{first_index[name]}]"
                problems.append(f"{place}: name: duplicate name (first used by {where})")
            first_index.setdefault(name, index)
        problems.extend(f"{place}: {p}" for p in extra_checks(item))
        try:
            loaded.append(model.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{place}: {format_field(err['loc'])}: {msg}")
    if problems:
        raise RuleError(problems)
    return loaded
