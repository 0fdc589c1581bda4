"""Watch-list alerts: rules, matcher, story de-duplication, surge detection and webhook sinks.

Everything here is pure logic (no Faust or Kafka imports) so it can be tested and
benchmarked on its own; the Faust agent wiring lives beside it.
"""
