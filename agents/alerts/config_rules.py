"""The config's ``rules:`` against the live rules topic: are the rules you wrote the ones
that run?

A worker never publishes its config's rules (``wirewatch rules apply`` does), so the two can
differ: rules never applied, edited since, or applied from another file. The worker compares
them at start and after every change of the topic, logs ``rules_in_sync`` or a
``rules_out_of_sync`` warning naming the rules and the fix, and exports
``wirewatch_rules_out_of_sync{kind}`` (missing, changed, extra) and ``wirewatch_rules_live``.
``wirewatch check-config`` prints the same comparison when it can reach the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from agents.alerts.rules import Rule, RuleError, load_rules, printable_name
from agents.classify.data_files import load_taxonomy
from streams import metrics
from streams.config import ConfigError, WirewatchConfig, load_config
from streams.logs import log_event
from streams.topics import RULES

FIX = "run `wirewatch rules apply` with this config to publish its rules"


def rules_in(config: WirewatchConfig, source: str) -> list[Rule]:
    """The validated ``rules:`` of ``config`` (RuleError naming every problem)."""
    taxonomy = load_taxonomy()
    return load_rules(config.rules, source=source, known_topics=taxonomy.topics,
                      known_regions=taxonomy.regions)


@dataclass(frozen=True, slots=True)
class RulesDiff:
    """Rule names by how the live topic differs from the config."""

    missing: tuple[str, ...]  # in the config, not live
    changed: tuple[str, ...]  # live with another definition (or a record that does not parse)
    extra: tuple[str, ...]  # live, not in the config

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.changed or self.extra)

    def describe(self) -> str:
        parts = [f"{label}: {', '.join(map(printable_name, names))}" for label, names in (
            ("not live", self.missing), ("changed", self.changed),
            ("live but not in the config", self.extra)) if names]
        return "; ".join(parts)


def diff_rules(config: list[Rule], live: Mapping[str, Rule | None]) -> RulesDiff:
    """How ``live`` (name -> rule, None for a record that does not parse) differs."""
    wanted = {rule.name: rule for rule in config}
    return RulesDiff(
        missing=tuple(sorted(wanted.keys() - live.keys())),
        changed=tuple(sorted(n for n in wanted.keys() & live.keys() if live[n] != wanted[n])),
        extra=tuple(sorted(live.keys() - wanted.keys())),
    )


def report_worker_rules(log: logging.Logger, config_path: str, live: Mapping[str, Rule]) -> None:
    """Log and export how the live rules compare with the config at ``config_path``."""
    metrics.RULES_LIVE.set(len(live))
    try:
        config_rules = rules_in(load_config(config_path), config_path)
    except (ConfigError, RuleError) as exc:
        for kind in ("missing", "changed", "extra"):
            metrics.RULES_OUT_OF_SYNC.labels(kind).set(0)
        log_event(log, logging.WARNING, "rules_not_compared", config=config_path,
                  error=exc.problems[0], live=len(live))
        return
    diff = diff_rules(config_rules, live)
    for kind in ("missing", "changed", "extra"):
        metrics.RULES_OUT_OF_SYNC.labels(kind).set(len(getattr(diff, kind)))
    if not diff.in_sync:
        log_event(log, logging.WARNING, "rules_out_of_sync", topic=RULES, config=config_path,
                  live=len(live), configured=len(config_rules), differences=diff.describe(),
                  fix=FIX)
    elif not live:
        log_event(log, logging.WARNING, "rules_none", topic=RULES, config=config_path,
                  effect="no rules, so this worker raises no alerts",
                  fix="add rules to the config, then run `wirewatch rules apply`")
    else:
        log_event(log, logging.INFO, "rules_in_sync", topic=RULES, config=config_path,
                  rules=len(live))
