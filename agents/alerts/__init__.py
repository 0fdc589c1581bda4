"""Watch-list alerts: rules, matcher, story de-duplication, surge detection and sinks.

The logic imports neither Faust nor Kafka, so it is tested and benchmarked on its own:
``rules``, ``config_section``, ``regex``, ``folding``, ``matcher``, ``stories``, ``ledger``,
``surge``, ``desk`` and ``records`` (over any mapping). The sinks
(``sink_kinds``, ``sinks``, ``apprise_sink``, ``alertmanager_sink``) speak HTTP, not Kafka.
The Faust and Kafka wiring is in ``match_stage.py``, ``desk_stage.py``, ``desk_state.py``,
``delivery.py``, ``rulebook.py`` and ``config_rules.py`` (the config's rules against the
live rules topic); the CLI in ``commands.py``.
"""
