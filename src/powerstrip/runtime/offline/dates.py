"""Dates and date ranges in a message: "2023-05-01", "May 1, 2023", "yesterday", "last week".

Every mention becomes a range of days (`first`, `last`); a single day has `first == last`. The
caller decides how to write it: a schema with `format: date` gets ISO dates, a free-text string
keeps the words the user wrote. Relative dates count from `today`, which the caller passes in so
that tests (and a user's time zone, later) decide what today is.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DateMention", "find_dates"]

_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTHS["sept"] = 9
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
# "March 11, 2022", "March.11, 2022", "Jun.20,2023", "April 4th".
_MONTH_DAY = re.compile(
    rf"\b({_MONTH})(?:\.\s*|\s+){_DAY}\b(?:\s*,\s*(\d{{4}})|\s+(\d{{4}}))?", re.IGNORECASE
)
_DAY_MONTH = re.compile(
    rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\b\.?(?:\s*,\s*(\d{{4}})|\s+(\d{{4}}))?", re.IGNORECASE
)
# "2023 April 4th".
_YEAR_MONTH_DAY = re.compile(rf"\b(\d{{4}})\s+({_MONTH})\.?\s+{_DAY}\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_NAMED_DAY = re.compile(r"\b(today|yesterday|tomorrow|tonight)\b", re.IGNORECASE)
_PERIOD = re.compile(
    r"\b(last|past|previous|this|current|next|coming)\s+(week|month|year)\b", re.IGNORECASE
)
_SPAN = re.compile(
    r"\b(last|past|previous|next|coming)\s+(\d{1,3})\s+(days?|weeks?|months?)\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date or range the user wrote, at `start:end` of the message."""

    start: int
    end: int
    first: date
    last: date
    text: str

    @property
    def is_range(self) -> bool:
        return self.first != self.last


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period(which: str, unit: str, today: date) -> tuple[date, date]:
    step = {"last": -1, "past": -1, "previous": -1, "next": 1, "coming": 1}.get(which, 0)
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        first = _shift_month(today.replace(day=1), step)
        return first, _month_end(first.year, first.month)
    year = today.year + step
    return date(year, 1, 1), date(year, 12, 31)


def _span(which: str, count: int, unit: str, today: date) -> tuple[date, date]:
    # "the last 3 months" is a rolling window, so a month counts as 30 days here.
    length = timedelta(days={"day": 1, "week": 7, "month": 30}[unit.rstrip("s")] * count)
    if which in ("next", "coming"):
        return today, today + length
    return today - length, today


def find_dates(text: str, today: date) -> list[DateMention]:
    """Every date mention in `text`, in order, without overlaps."""
    found: list[DateMention] = []

    def add(match: re.Match[str], first: date | None, last: date | None = None) -> None:
        if first is None:
            return
        if any(match.start() < m.end and m.start < match.end() for m in found):
            return
        found.append(DateMention(match.start(), match.end(), first, last or first, match[0]))

    # "from April 4th to April 8th, 2023": a day without a year is in the year the message
    # names, else this year.
    years = [int(m[1]) for m in _YEAR.finditer(text)]
    default_year = years[0] if len(set(years)) == 1 else today.year
    for match in _YEAR_MONTH_DAY.finditer(text):
        add(match, _safe_date(int(match[1]), _MONTHS[match[2].lower()], int(match[3])))
    for match in _ISO.finditer(text):
        add(match, _safe_date(int(match[1]), int(match[2]), int(match[3])))
    for match in _SLASHED.finditer(text):
        add(match, _safe_date(int(match[3]), int(match[1]), int(match[2])))
    for match in _MONTH_DAY.finditer(text):
        year = int(match[3] or match[4] or default_year)
        add(match, _safe_date(year, _MONTHS[match[1].lower()], int(match[2])))
    for match in _DAY_MONTH.finditer(text):
        year = int(match[3] or match[4] or default_year)
        add(match, _safe_date(year, _MONTHS[match[2].lower()], int(match[1])))
    for match in _MONTH_YEAR.finditer(text):
        year, month = int(match[2]), _MONTHS[match[1].lower()]
        add(match, date(year, month, 1), _month_end(year, month))
    for match in _NAMED_DAY.finditer(text):
        offset = {"yesterday": -1, "tomorrow": 1}.get(match[1].lower(), 0)
        add(match, today + timedelta(days=offset))
    for match in _SPAN.finditer(text):
        add(match, *_span(match[1].lower(), int(match[2]), match[3].lower(), today))
    for match in _PERIOD.finditer(text):
        add(match, *_period(match[1].lower(), match[2].lower(), today))
    found.sort(key=lambda mention: mention.start)
    return found
