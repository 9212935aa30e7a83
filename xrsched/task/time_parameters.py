"""Date, time and duration parameters, written as Luigi writes them on the command line."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .parameters import OptionalMixin, TypedParameter


class DateParameter(TypedParameter[dt.date]):
    """A calendar day, ``YYYY-MM-DD``; a datetime given to it keeps only its date."""

    kind = (dt.date,)

    def parse(self, text: str) -> dt.date:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d").date()

    def serialize(self, value: dt.date) -> str:
        return value.isoformat()

    def convert(self, value: Any) -> dt.date:
        return value.date() if isinstance(value, dt.datetime) else value


class MonthParameter(DateParameter):
    """A month, ``YYYY-MM``; held as the first day of that month."""

    def parse(self, text: str) -> dt.date:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()

    def serialize(self, value: dt.date) -> str:
        return f"{value.year:04d}-{value.month:02d}"

    def convert(self, value: Any) -> dt.date:
        return super().convert(value).replace(day=1)


class YearParameter(DateParameter):
    """A year, ``YYYY``; held as January 1st of that year."""

    def parse(self, text: str) -> dt.date:
        return dt.date(int(text), 1, 1)

    def serialize(self, value: dt.date) -> str:
        return f"{value.year:04d}"

    def convert(self, value: Any) -> dt.date:
        return super().convert(value).replace(month=1, day=1)


class DateTimeParameter(TypedParameter[dt.datetime]):
    """A moment in ISO 8601 (``2024-01-31T12:30:00``, with an offset when timezone-aware).

    Aware values are held with a fixed offset (a zone name cannot be written in the string).
    Not in Luigi, which only has the fixed-granularity parameters below.
    """

    kind = (dt.datetime,)

    def parse(self, text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.strip())

    def serialize(self, value: dt.datetime) -> str:
        return value.isoformat()

    def convert(self, value: Any) -> dt.datetime:
        offset = value.utcoffset()
        return value if offset is None else value.replace(tzinfo=dt.timezone(offset))


class _GranularDateTime(TypedParameter[dt.datetime]):
    """A naive datetime truncated to a fixed granularity and written in a compact format."""

    kind = (dt.datetime,)
    formats: tuple[str, ...] = ()
    keep = ""

    def parse(self, text: str) -> dt.datetime:
        for fmt in self.formats:
            try:
                return dt.datetime.strptime(text.strip(), fmt)
            except ValueError:
                continue
        raise ValueError(f"cannot read {text!r} as a time of the form {self.formats[0]}")

    def serialize(self, value: dt.datetime) -> str:
        return value.date().isoformat() + value.strftime(self.formats[0][8:])

    def convert(self, value: Any) -> dt.datetime:
        if value.tzinfo is not None:
            raise ValueError("timezone-aware datetimes cannot be written in this format; pass a naive one")
        zeroed = {"minute": 0, "second": 0, "microsecond": 0}
        for field in self.keep.split():
            zeroed.pop(field)
        return value.replace(**zeroed)


class DateHourParameter(_GranularDateTime):
    """An hour, ``YYYY-MM-DDTHH``."""

    formats = ("%Y-%m-%dT%H",)


class DateMinuteParameter(_GranularDateTime):
    """A minute, ``YYYY-MM-DDTHHMM`` (Luigi's older ``YYYY-MM-DDTHHhMM`` is still read)."""

    formats = ("%Y-%m-%dT%H%M", "%Y-%m-%dT%HH%M")
    keep = "minute"


class DateSecondParameter(_GranularDateTime):
    """A second, ``YYYY-MM-DDTHHMMSS``."""

    formats = ("%Y-%m-%dT%H%M%S",)
    keep = "minute second"


_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
_NUMBER = r"\d+(?:\.\d+)?"
_WORDS = re.compile(
    r"\s*".join(rf"(?:(?P<{unit}>{_NUMBER})\s*{unit[0]}(?:{unit[1:-1]}s?)?)?" for unit in _UNITS),
    re.IGNORECASE,
)
_ISO = re.compile(
    rf"P(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE,
)


def _exact(number: str, unit: str) -> dt.timedelta:
    """``number`` units without going through a float (exact to the microsecond)."""
    whole, _, fraction = number.partition(".")
    micros = int((fraction + "000000")[:6]) if fraction else 0
    per_unit = dt.timedelta(**{unit: 1})
    return per_unit * int(whole) + per_unit * micros / 1_000_000


class TimeDeltaParameter(TypedParameter[dt.timedelta]):
    """A duration: seconds (``90``), Luigi's ``1 w 2 d 3 h 4 m 5 s`` (any subset, or whole
    words) or ISO 8601 (``P1DT2H``). Written as Luigi writes it, keeping any fraction of a second.
    """

    kind = (dt.timedelta,)

    def parse(self, text: str) -> dt.timedelta:
        stripped = text.strip()
        sign, body = (-1, stripped[1:].strip()) if stripped.startswith("-") else (1, stripped)
        if re.fullmatch(_NUMBER, body):
            return sign * _exact(body, "seconds")
        for pattern in (_ISO, _WORDS):
            match = pattern.fullmatch(body)
            if match and any(match.groupdict().values()):
                total = sum((_exact(n, unit) for unit, n in match.groupdict().items() if n), dt.timedelta())
                return sign * total
        raise ValueError(f"cannot read {text!r} as a duration (try '90', '1 d 2 h' or 'P1DT2H')")

    def serialize(self, value: dt.timedelta) -> str:
        sign, value = ("-", -value) if value < dt.timedelta() else ("", value)
        minutes, seconds = divmod(value.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        weeks, days = divmod(value.days, 7)
        second_text = str(seconds)
        if value.microseconds:
            second_text += f".{value.microseconds:06d}".rstrip("0")
        return f"{sign}{weeks} w {days} d {hours} h {minutes} m {second_text} s"


class OptionalDateParameter(OptionalMixin, DateParameter):
    """A day or None."""


class OptionalDateTimeParameter(OptionalMixin, DateTimeParameter):
    """A moment or None."""


class OptionalTimeDeltaParameter(OptionalMixin, TimeDeltaParameter):
    """A duration or None."""
