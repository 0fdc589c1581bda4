"""Watch-list alerts: rules, matcher, story de-duplication, surge detection and sinks.

The logic modules (rules, matcher, folding, stories, surge, desk, records, sink_kinds) are pure:
no Faust or Kafka imports, so they are tested and benchmarked on their own. The Faust wiring is
in ``agent.py``, ``delivery.py`` and ``rulebook.py``; the CLI in ``commands.py``.
"""
