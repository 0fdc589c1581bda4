"""Unit-test fixtures shared across modules.

The agents register the checks of their config sections (``rules:``, ``sinks:``) with
``streams.config`` when Faust's autodiscovery imports them, as every ``wirewatch`` command
and the worker do before checking a config. The unit tests discover them once, up front, so
``config_problems`` checks every section in every test, whichever test module ran first.
"""

from streams.app import app

app.discover()
