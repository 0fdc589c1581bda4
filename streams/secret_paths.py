"""Which segments of a URL's path are secrets, and the path with them masked.

Webhook and bot URLs carry their token in the path (Slack ``/services/T…/B…/<token>``,
Discord ``/api/webhooks/<id>/<token>``, Telegram ``/bot<token>/sendMessage``, Teams
``/webhookb2/…``), and private feeds an unguessable id (``/feeds/<random>.xml``). A segment
is masked when one of these holds:

- **the host says so**: on ``hooks.slack.com`` every segment after the first; on
  ``api.telegram.org`` the token after ``bot``;
- **the segment before says so**: every segment after ``hooks``, ``webhook``, ``webhooks``
  or ``webhookb2`` (Discord, Mattermost, Rocket.Chat, Zapier, Teams, most self-hosted
  receivers), and the one segment after ``key``, ``token``, ``secret``, ``apikey`` and the
  like (IFTTT's ``/with/key/<key>``);
- **it looks random**: a UUID, or a run of 16 or more letters and digits with at least
  3 bits of entropy per character that switches between letters and digits often
  (random text does; ``covid19vaccineupdate2021`` does not), or a run of 20 or more
  letters only that switches case as random text does (``TheGuardianWorldNews`` does
  not). Article slugs, dates and numeric ids stay readable; a few public ids (YouTube
  channel ids) are masked too, the safe side to err on.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise
from urllib.parse import unquote

MASK = "***"

_MASK_REST_AFTER = frozenset({"hooks", "webhook", "webhooks", "webhookb2"})
_MASK_NEXT_AFTER = frozenset({
    "key", "keys", "token", "tokens", "secret", "secrets", "apikey", "api_key", "api-key",
    "access_token", "auth", "password",
})
_SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
_TELEGRAM_HOSTS = frozenset({"api.telegram.org"})
_TELEGRAM_BOT = re.compile(r"bot(?P<token>\d+:.+)", re.IGNORECASE)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                   re.IGNORECASE)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{16,}")
MIN_BITS_PER_CHAR = 3.0


def _bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _char_class(char: str) -> int:
    return 0 if char.isdigit() else 1 if char.islower() else 2


def _switches(run: str) -> int:
    """Adjacent characters of different classes (digit, lower, upper)."""
    return sum(_char_class(a) != _char_class(b) for a, b in pairwise(run))


def _looks_random(run: str) -> bool:
    if _bits_per_char(run) < MIN_BITS_PER_CHAR:
        return False
    digits = sum(char.isdigit() for char in run)
    if digits == len(run):
        return False  # numeric ids and timestamps
    if digits >= 2 and len(run) - digits >= 2:
        return _switches(run) >= 0.25 * (len(run) - 1)
    upper_pairs = sum(a.isupper() and b.isupper() for a, b in pairwise(run))
    return (digits == 0 and len(run) >= 20 and upper_pairs >= 3
            and _switches(run) >= 0.4 * (len(run) - 1))


def looks_secret(segment: str) -> bool:
    """Whether one (percent-decoded) path segment looks like a token or a private id."""
    if _UUID.search(segment):
        return True
    return any(_looks_random(run.group(0)) for run in _ALNUM_RUN.finditer(segment))


def _masked_segment(host: str, segment: str) -> tuple[str, str] | None:
    """(shown, secret) for a segment that is a secret by its host's rule, else None."""
    if host in _TELEGRAM_HOSTS and (bot := _TELEGRAM_BOT.fullmatch(segment)):
        return f"bot{MASK}", bot.group("token")
    return None


def path_secrets(host: str, path: str) -> tuple[str, list[str]]:
    """``path`` with its secret segments masked, and those secrets (as they appear in the
    path, and percent-decoded when that differs)."""
    host = host.lower().rstrip(".")
    segments = path.split("/")
    secrets: list[str] = []
    mask_rest = False
    mask_next = False
    first = True
    for index, raw in enumerate(segments):
        if not raw:
            continue
        decoded = unquote(raw)
        by_host = _masked_segment(host, decoded)
        if by_host is not None:
            segments[index], secret = by_host
            secrets.append(secret)
        elif mask_rest or mask_next or looks_secret(decoded) or (
                host in _SLACK_HOSTS and not first):
            segments[index] = MASK
            secrets.extend(dict.fromkeys((raw, decoded)))
        mask_next = decoded.lower() in _MASK_NEXT_AFTER
        mask_rest = mask_rest or decoded.lower() in _MASK_REST_AFTER
        first = False
    return "/".join(segments), secrets
