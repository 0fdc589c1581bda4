"""Watch-list alerts: rules, matcher, story de-duplication, surge detection and sinks.

The logic imports neither Faust nor Kafka, so it is tested and benchmarked on its own:
``rules``, ``config_section``, ``regex``, ``folding``, ``matcher``, ``stories``, ``ledger``,
``surge``, ``desk``, ``records`` and ``writebehind`` (over any mapping). The sinks
(``sink_kinds``, ``sinks``, ``apprise_sink``, ``alertmanager_sink``) speak HTTP, not Kafka.
The Faust and Kafka wiring is in ``agent.py``, ``delivery.py``, ``rulebook.py`` and
``config_rules.py`` (the config's rules against the live rules topic); the CLI in
``commands.py``.
"""
