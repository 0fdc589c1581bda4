"""An alert as the worker publishes it, and one delivery to a sink, for the sink tests."""

import aiohttp

from agents.alerts.sink_kinds import Sink, load_sinks
from agents.alerts.sinks import DeliveryResult, deliver

ALERT = {
    "alert_id": "a-1", "rule": "karabakh-security", "severity": "high", "kind": "match",
    "matched": [{"term": "Karabakh", "text": "Karabakh"}, {"term": "mine*", "text": "mines"}],
    "story_id": "story-1", "title": "Azerbaijan continues clearing Karabakh of mines",
    "url": "https://caliber.example/post/1", "source": "caliber.example",
    "feed": "caucasus/caliber", "published": "2024-05-01T16:02:00Z",
    "topics": ["conflict/war/peace"], "regions": ["Western Asia", "South Caucasus"],
    "countries": ["AZ"], "sources_count": 1, "update": False, "schema_version": 1,
}


def sink(**fields: object) -> Sink:
    (loaded,) = load_sinks([{"name": "s", **fields}], source="c.yaml")
    return loaded


async def send(to: Sink, alert: dict, **kwargs: object) -> DeliveryResult:
    async with aiohttp.ClientSession() as session:
        return await deliver(session, to, alert, **kwargs)
