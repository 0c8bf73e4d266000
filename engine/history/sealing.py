"""Seals: each event's HMAC-SHA-256 under the audit key covers its content and the seal of the event before it.

The key lives outside the database (config: KESU_AUDIT_KEY or instance/audit_key), so someone who can write the
database can change, drop or add events but cannot seal them again: verification names the first that fails.
Keys come newest first: the first seals, every one verifies, so a key can be rotated without re-sealing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

SEALED = ("company_id", "instance_id", "seq", "type", "actor_id", "element_id", "task_id", "at", "data")
EVENT_DOMAIN = b"kesu-event-v1\n"  # what a seal is about: an event's MAC can never pass for an anchor line's
Mac = Callable[[str | None, Mapping[str, Any]], str]


def canonical(prev_hash: str | None, event: Mapping[str, Any]) -> bytes:
    """The event's canonical JSON with its predecessor's seal: the same for the dict a step writes and the row
    read back."""
    content = {name: event[name] for name in SEALED}
    content["at"] = event["at"].astimezone(UTC).isoformat(timespec="microseconds")
    content["prev_hash"] = prev_hash
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def legacy_hash(prev_hash: str | None, event: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 that sealed events before migration 0008 (which re-seals them with the key)."""
    return hashlib.sha256(canonical(prev_hash, event)).hexdigest()


def chain(mac: Mac, head: str | None, events: Iterable[dict[str, Any]]) -> str | None:
    """Link new events (in seq order) after `head`, filling in their prev_hash and hash; returns the new head."""
    for event in events:
        event["prev_hash"] = head
        event["hash"] = head = mac(head, event)
    return head


def parse_keys(text: str) -> tuple[bytes, ...]:
    """Keys written as hex, newest first, separated by commas or new lines; each at least 32 bytes."""
    try:
        keys = tuple(bytes.fromhex(part.strip()) for part in text.replace("\n", ",").split(",") if part.strip())
    except ValueError:
        keys = ()
    if not keys or any(len(key) < 32 for key in keys):
        raise ValueError("an audit key is hex of at least 32 bytes (64 hex digits); several are separated by "
                         "commas, newest first")
    return keys


class Sealer:
    """HMAC-SHA-256 with the audit keys, each prepared once (a step seals with a copy, not a new key schedule)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("no audit key")
        self._keys = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in keys)

    def mac(self, prev_hash: str | None, event: Mapping[str, Any]) -> str:
        """The event's seal under the newest key."""
        return self._digest(self._keys[0], EVENT_DOMAIN + canonical(prev_hash, event))

    def chain(self, head: str | None, events: Iterable[dict[str, Any]]) -> str | None:
        """Seal new events after `head` (engine.runtime.seal); returns the new head."""
        return chain(self.mac, head, events)

    def authentic(self, row: Any) -> bool:
        """Whether a stored event's `hash` is its seal, under any of the keys."""
        return self.signed(EVENT_DOMAIN + canonical(row.prev_hash, row._mapping), row.hash)

    def sign(self, payload: bytes) -> str:
        """A MAC of `payload` (an anchor line) under the newest key."""
        return self._digest(self._keys[0], payload)

    def signed(self, payload: bytes, mac: Any) -> bool:
        """Whether `mac` is the MAC of `payload` under any of the keys (a plain loop: it runs for every event
        verified)."""
        if not isinstance(mac, str):
            return False
        return any(hmac.compare_digest(self._digest(key, payload), mac) for key in self._keys)

    @staticmethod
    def _digest(key: hmac.HMAC, payload: bytes) -> str:
        mac = key.copy()
        mac.update(payload)
        return mac.hexdigest()
