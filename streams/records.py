"""The contract of every Wirewatch topic: one type per topic, declared here and nowhere else.

Values on the wire are plain JSON objects (no Faust metadata), so subscribers in any
language read them as ordinary JSON. ``streams.topics`` gives each topic its type;
``streams.contract_topic`` validates every record an agent consumes against it (a record
that fails goes to ``wirewatch.dead``) and every record a producer sends.

Compatibility: consumers check types strictly (JSON ``"5"`` is not an integer), fields
not declared here pass through unchanged, and ``schema_version`` changes only when a
field changes meaning or type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)  # in rising order
AlertKind = Literal["match", "surge"]
SCHEMA_VERSION = 1


class Contract(BaseModel):
    """Base of the topic types: strict on the wire, additive fields pass through."""

    model_config = ConfigDict(extra="allow", strict=True)


class Headline(Contract):
    """A new headline on ``wirewatch.headlines``; the message key is ``id``.

    ``id``: stable id (hash of the entry's guid, else of its canonical URL);
    ``feed``: config name of the feed; ``source``: site host; ``published``
    and ``fetched_at``: UTC ISO 8601 (``published`` may be null).
    """

    id: str
    feed: str
    source: str
    title: str
    url: str
    summary: str
    published: str | None
    fetched_at: str


class PollTick(Contract):
    """An internal "poll this feed now if it is due" message, keyed by feed name."""

    feed: str
    sent_at: float


class TopicLabel(Contract):
    """An IPTC Media Topic of a headline: ``score`` is the model's probability."""

    code: str
    label: str
    score: float
    evidence: list[str]


class CountryLabel(Contract):
    """A country a headline concerns (ISO 3166-1 alpha-2, ``EU`` for the Union)."""

    code: str
    name: str
    score: float
    evidence: list[str]


class RegionLabel(Contract):
    """A region a headline concerns: ``kind`` is ``m49`` or ``geopolitical``."""

    name: str
    kind: str
    countries: list[str]
    evidence: list[str]


class ClassifiedHeadline(Headline):
    """A headline with its classification on ``wirewatch.classified`` (key: headline id)."""

    topics: list[TopicLabel]  # best first
    countries: list[CountryLabel]  # best first
    regions: list[RegionLabel]
    region_names: list[str]
    language: str
    classifier_version: str


@dataclass(frozen=True, slots=True)
class MatchedTerm:
    """One occurrence: the rule's term, where it is, and the original text it covers."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a headline; ``score`` is the weighted sum for weighted rules."""

    rule: str
    severity: Severity
    matched: tuple[MatchedTerm, ...]
    score: float | None = None


class AlertCandidate(Contract):
    """Internal, on the one partition of ``wirewatch.alert-candidates``: a classified
    headline with the rules it matched (possibly none: regions still count for surges)."""

    headline: ClassifiedHeadline
    matches: list[Match]


@dataclass(frozen=True, slots=True)
class Surge:
    """A surge of ``key``: the window's count against its baseline windows' counts (the
    ``surge`` of a surge alert; ``agents.alerts.surge`` finds them)."""

    key: str
    window_start: str
    window_end: str
    window_count: int
    bucket_counts: list[int]
    baseline_counts: list[int]
    baseline_mean: float
    baseline_std: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Alert(Contract):
    """An alert on ``wirewatch.alerts`` (key: ``story_id``); see ``agents.alerts.records``.

    Surge alerts carry ``surge``; the field is absent from match alerts.
    """

    alert_id: str
    rule: str
    severity: Severity
    kind: AlertKind
    matched: list[MatchedTerm]
    story_id: str
    title: str | None
    url: str | None
    source: str | None
    feed: str | None
    published: str | None
    detected_at: str
    topics: list[str]
    regions: list[str]
    countries: list[str]
    sources_count: int
    update: bool
    schema_version: int
    surge: Surge | None = Field(default=None, exclude_if=lambda surge: surge is None)


#: The fields every alert has, in wire order (webhook templates may name them).
ALERT_FIELDS: tuple[str, ...] = tuple(
    name for name, field in Alert.model_fields.items() if field.is_required())


class FailedDelivery(Contract):
    """An alert a webhook sink never took, on ``wirewatch.alerts.dead`` (key: story id)."""

    alert: Alert
    sink: str
    error: str | None
    attempts: int
    status: int | None
    failed_at: str


class LiveRule(Contract):
    """A watch-list rule on the compacted ``wirewatch.rules`` (key: the name; null deletes
    it). Only its shape is checked here; ``agents.alerts.rules.Rule`` checks the rest."""

    name: str


class DeskStateEntry(Contract):
    """One key of the story desk's state on the compacted ``wirewatch.desk-state`` (key:
    ``<store>:<key>``, null deletes it; see ``agents.alerts.desk_state``)."""

    value: Any


DeadLetterReason = Literal[
    "not_utf8", "not_json", "not_object", "missing_field", "wrong_type", "invalid_value",
    "bad_key", "empty",
]
DEAD_LETTER_REASONS: tuple[str, ...] = get_args(DeadLetterReason)


class DeadLetter(Contract):
    """A record that broke its topic's contract, on ``wirewatch.dead`` (key: source topic).

    ``value_base64`` / ``key_base64``: the original bytes (null when absent). A value
    longer than the dead-letter limit is cut, with ``value_truncated``; the original
    stays on ``topic`` at ``partition`` / ``offset`` until the topic's retention ends.
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    reason: DeadLetterReason
    error: str
    key_base64: str | None
    value_base64: str | None
    value_truncated: bool
    dead_at: str
    schema_version: int = SCHEMA_VERSION

