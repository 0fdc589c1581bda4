"""Base for Wirewatch's own CLI commands (registered with ``@app.command``).

Faust runs app commands inside a service worker that swallows exit codes; these
commands are plain coroutines whose return value is the process exit code.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, ClassVar, NoReturn

from aiokafka.errors import KafkaConnectionError
from faust.cli.base import AppCommand


class PlainCommand(AppCommand):
    abstract: ClassVar[bool] = True

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        try:
            code = asyncio.run(self.run(*self.args, *args, **{**self.kwargs, **kwargs}))
        except KeyboardInterrupt:
            code = 130
        except KafkaConnectionError as exc:  # aiokafka logged the cause (TLS, SASL) above
            print(f"cannot connect to Kafka: {exc}; check WIREWATCH_BROKER and the "
                  "WIREWATCH_KAFKA_* settings", file=sys.stderr)
            code = 2
        raise SystemExit(code or 0)
