"""Currencies named in a message: "US dollars", "euro", "£", "JPY" → their ISO 4217 codes.

A currency parameter wants a code (`USD`), while people write the currency's name, its
plural, its symbol or its code in any case. Like month names, the world's main currencies are
a short closed list; the ones here cover what people ask about. A name that is also another
word ("pound", "rand") is read as a currency only for a currency parameter: finding it here
says nothing about other parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CurrencyMention", "find_currencies"]

# Code: names, the most specific first (a longer name wins where two overlap).
_NAMES: dict[str, tuple[str, ...]] = {
    "USD": ("us dollar", "u.s. dollar", "u.s dollar", "united states dollar", "american dollar"),
    "CAD": ("canadian dollar",),
    "AUD": ("australian dollar",),
    "NZD": ("new zealand dollar",),
    "HKD": ("hong kong dollar",),
    "SGD": ("singapore dollar",),
    "EUR": ("euro",),
    "GBP": ("british pound", "pound sterling", "sterling", "pound"),
    "JPY": ("japanese yen", "yen"),
    "CNY": ("chinese yuan", "yuan", "renminbi", "rmb"),
    "INR": ("indian rupee", "rupee"),
    "CHF": ("swiss franc", "franc"),
    "MXN": ("mexican peso", "peso"),
    "BRL": ("brazilian real",),
    "RUB": ("russian ruble", "ruble", "rouble"),
    "KRW": ("south korean won", "korean won"),
    "SEK": ("swedish krona",),
    "NOK": ("norwegian krone",),
    "DKK": ("danish krone",),
    "ZAR": ("south african rand", "rand"),
}
# "dollar" alone is the US dollar, after every other kind of dollar was looked for.
_FALLBACK = {"dollar": "USD", "buck": "USD"}
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_CODES = frozenset(_NAMES)
_PHRASES = sorted(
    [(tuple(name.split()), code) for code, names in _NAMES.items() for name in names]
    + [((word,), code) for word, code in _FALLBACK.items()],
    key=lambda item: -len(item[0]),
)


class _Token(Protocol):
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CurrencyMention:
    """A currency the user named, as its ISO code, at tokens `first..last` inclusive."""

    code: str
    first: int
    last: int


def _matches(word: str, wanted: str, *, last: bool) -> bool:
    if word == wanted:
        return True
    # The last word may be plural: "dollars", "euros", "rupees".
    return last and word in (wanted + "s", wanted + "es")


def _by_first_word() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """The phrases by the forms their first word can take, in their order: a message's
    word is compared with the few phrases it can start rather than with all of them."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for words, code in _PHRASES:
        forms = {words[0]} | ({words[0] + "s", words[0] + "es"} if len(words) == 1 else set())
        for form in forms:
            index.setdefault(form, []).append((tuple(words), code))
    return index


_STARTING = _by_first_word()


def find_currencies(tokens: Sequence[_Token]) -> tuple[CurrencyMention, ...]:
    """Every currency named in `tokens`, in order, without overlaps."""
    lowered = [t.text.lower() for t in tokens]
    found: list[CurrencyMention] = []
    i = 0
    while i < len(tokens):
        text = tokens[i].text
        if text in _SYMBOLS:
            found.append(CurrencyMention(_SYMBOLS[text], i, i))
            i += 1
            continue
        if text.upper() in _CODES and (text.isupper() or text.islower()) and len(text) == 3:
            found.append(CurrencyMention(text.upper(), i, i))
            i += 1
            continue
        for words, code in _STARTING.get(lowered[i], ()):
            end = i + len(words)
            if end <= len(tokens) and all(
                _matches(lowered[i + k], words[k], last=k == len(words) - 1)
                for k in range(len(words))
            ):
                found.append(CurrencyMention(code, i, end - 1))
                i = end
                break
        else:
            i += 1
    return tuple(found)
