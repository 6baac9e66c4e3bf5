"""Spot text that tries to steer the model (spec §8): a plugin may describe, not command."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SteeringMatch", "find_steering"]

_OTHER = r"(?:any\s+|all\s+)?(?:other|another|different|third[- ]party|competing)"
_TOOLS = r"(?:plugins?|tools?|apis?|services?|sources?|assistants?)"
_PRIOR = r"(?:previous|prior|above|earlier|preceding|system|all)"
_RULES = r"(?:instructions?|prompts?|messages?|rules?|guidelines?|directions?)"
_OURS = r"(?:this|our|the\s+\w+)\s+(?:plugin|tool|api|service)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("always use", r"\balways\s+(?:use|call|invoke|choose|prefer|pick|recommend)\b"),
        (
            "do not use other plugins",
            rf"\b(?:do\s+not|don'?t|never|must\s+not)\s+(?:use|call|"
            rf"consult|recommend|suggest|mention)\s+{_OTHER}\s+{_TOOLS}",
        ),
        (
            "ignore previous instructions",
            rf"\b(?:ignore|disregard|forget|override)\s+"
            rf"(?:all\s+|any\s+|the\s+|your\s+)*{_PRIOR}\s+(?:\w+\s+)?{_RULES}",
        ),
        ("only use this plugin", rf"\b(?:only|exclusively)\s+(?:use|call)\s+{_OURS}"),
        ("instead of other plugins", rf"\binstead\s+of\s+{_OTHER}\s+{_TOOLS}"),
        ("prefer this plugin", rf"\bprefer\s+{_OURS}\s+(?:over|to)\b"),
        ("you must use", rf"\byou\s+(?:must|have\s+to|should\s+always)\s+(?:use|call)\s+{_OURS}"),
        ("regardless of the user", r"\bregardless\s+of\s+(?:what\s+)?the\s+user\b"),
        ("you are now", r"\byou\s+are\s+now\b"),
    )
)


@dataclass(frozen=True, slots=True)
class SteeringMatch:
    """One steering phrase found in a text."""

    label: str
    excerpt: str
    start: int


def find_steering(text: str) -> list[SteeringMatch]:
    """Every steering phrase in `text`, in order, each with a short excerpt around it."""
    found: list[SteeringMatch] = []
    for label, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start = max(0, match.start() - 20)
            end = min(len(text), match.end() + 30)
            excerpt = " ".join(text[start:end].split())
            found.append(SteeringMatch(label, excerpt, match.start()))
    found.sort(key=lambda m: m.start)
    return found
