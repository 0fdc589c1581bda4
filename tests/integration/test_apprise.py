"""Apprise sinks send a real email through a local SMTP server (aiosmtpd); sink kinds are
validated with their place."""

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from agents.alerts.config_section import RuleError
from agents.alerts.sink_kinds import load_sinks
from streams.embedded_broker import free_port

from .alert_sinks import ALERT, send, sink
from .conftest import RULES, TopicReader, add_stories, site_feeds, wait_until, wirewatch, write


class Inbox:
    """An aiosmtpd handler keeping every message; ``reject`` makes it refuse them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []
        self.reject = False

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reject:
            return "554 5.7.1 mailbox unavailable"
        self.messages.append((envelope.mail_from, envelope.rcpt_tos,
                              message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def mailto(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?to=desk@example.org&from=wirewatch@example.org"


async def test_apprise_sends_a_real_email(smtp) -> None:
    inbox, port = smtp
    result = await send(sink(apprise=[mailto(port)]), ALERT)
    assert (result.delivered, result.attempts) == (True, 1)
    ((sender, recipients, message),) = inbox.messages
    assert (sender, recipients) == ("wirewatch@example.org", ["desk@example.org"])
    assert message["Subject"] == ("[HIGH] karabakh-security: Azerbaijan continues clearing "
                                  "Karabakh of mines")
    body = message.get_payload(decode=True).decode()
    assert body.splitlines() == [
        "Azerbaijan continues clearing Karabakh of mines", "https://caliber.example/post/1",
        "source: caliber.example | regions: Western Asia, South Caucasus | "
        "topics: conflict/war/peace"]


async def test_apprise_templates_and_filters_are_the_webhooks(smtp) -> None:
    inbox, port = smtp
    templated = sink(apprise=[mailto(port)], rules=["karabakh-security"], min_severity="high",
                     template={"title": "${rule} (${severity})", "body": "$title [$matched]"})
    assert (await send(templated, ALERT)).delivered
    ((_, _, message),) = inbox.messages
    assert message["Subject"] == "karabakh-security (high)"
    assert message.get_payload(decode=True).decode().strip() == (
        "Azerbaijan continues clearing Karabakh of mines [Karabakh, mines]")


async def test_apprise_failure_is_retried_then_reported(smtp) -> None:
    inbox, port = smtp
    inbox.reject = True
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = await send(sink(apprise=[mailto(port)], max_attempts=3, backoff=2), ALERT,
                        sleep=sleep)
    assert (result.delivered, result.attempts, waits) == (False, 3, [2, 4])
    assert result.error == 'mailto://… Sending email to "desk@example.org" failed.'
    assert inbox.messages == []


def test_sink_kinds_are_checked_with_their_place() -> None:
    with pytest.raises(RuleError) as caught:
        load_sinks([
            {"name": "both", "url": "https://hooks.example/", "apprise": ["json://a.example/"]},
            {"name": "none", "rules": ["x"]},
            {"name": "bad", "apprise": ["tgram://", "json://ok.example/"]},
            {"name": "keys", "apprise": ["json://a.example/"], "template": {"text": "$title"}},
            {"name": "am", "alertmanager": "http://am.example:9093", "template": {"n": 1}},
        ], source="c.yaml")
    assert caught.value.problems == [
        "c.yaml: sinks[0] 'both': (entry): needs exactly one of url, apprise or alertmanager, "
        "not url and apprise",
        "c.yaml: sinks[1] 'none': (entry): needs exactly one of url, apprise or alertmanager, "
        "not none",
        "c.yaml: sinks[2] 'bad': apprise: apprise[0]: 'tgram://…' is not a URL Apprise can "
        "use (Unparseable Telegram URL tgram://...)",
        "c.yaml: sinks[3] 'keys': (entry): template: an Apprise template has only 'title' and "
        "'body', not ['text']",
        "c.yaml: sinks[4] 'am': (entry): template: Alertmanager annotations must be strings",
    ]


@pytest.mark.kafka
async def test_worker_emails_alerts_and_dead_letters_failures(
    news_site, namespace, tmp_path, start_worker, smtp
):
    inbox, port = smtp
    sinks = [{"name": "desk", "apprise": [mailto(port)], "rules": ["peacekeepers"],
              "template": {"title": "${rule}: ${title}"}},
             {"name": "nobody-listens", "apprise": [mailto(free_port())], "rules": ["cop29"],
              "max_attempts": 2, "backoff": 0.1, "timeout": 5}]
    config = write(tmp_path / "wirewatch.yaml", feeds=site_feeds(news_site), rules=RULES,
                   sinks=sinks)
    applied = wirewatch(namespace, "rules", "apply", str(config))
    assert applied.returncode == 0, applied.stderr
    add_stories(news_site, "Russia, Azerbaijan announce withdrawal of peacekeepers from Karabakh",
                "ICESCO Director-General invited to COP29")
    worker = start_worker(config)
    async with TopicReader(f"{namespace}.alerts.dead") as dead:
        await dead.wait_for(lambda m: len(m) >= 1, 120, "a dead letter", worker)
        [(_, letter)] = await dead.drain(2)
    assert (letter["sink"], letter["attempts"]) == ("nobody-listens", 2)
    assert letter["alert"]["rule"] == "cop29" and letter["error"].startswith("mailto://… ")
    await wait_until(lambda: len(inbox.messages) >= 1, 60, "the email", worker)
    ((_, recipients, message),) = inbox.messages  # one per story: updates are not sent
    assert recipients == ["desk@example.org"]
    assert message["Subject"] == ("peacekeepers: Russia, Azerbaijan announce withdrawal of "
                                  "peacekeepers from Karabakh")
