"""Settings whose getters say which setting is wrong.

Scrapy's ``getint("LINKSTORE_BATCH_PAGES")`` on ``"abc"`` raises
``ValueError: invalid literal for int() with base 10: 'abc'``, which names
no setting. :class:`CheckedSettings` raises :class:`SettingError` instead,
one line naming the setting, the value and what is expected; its getters
also take a ``minimum``. The crawl's components parse their settings
through it (``checked(settings)`` in each ``Config.from_settings``), and
``scrapy crawl`` runs those parsers before anything starts, so a mistake is
one ``error:`` line.
"""

from __future__ import annotations

import math
from typing import Any

from scrapy.settings import BaseSettings, Settings

__all__ = ["CheckedSettings", "SettingError", "checked"]


class SettingError(ValueError):
    """A setting with a value that cannot be used; the message is one line for the user."""


class CheckedSettings(Settings):
    """A copy of some settings whose typed getters name the setting in their errors."""

    def _raw(self, name: str, default: Any) -> str:
        return repr(self.get(name, default))

    def getint(self, name: str, default: int = 0, *, minimum: int | None = None) -> int:
        """``int`` value of a setting, at least ``minimum`` when given.

        Raises
        ------
        SettingError
            The value is not a whole number, or is below ``minimum``.
        """
        try:
            value = super().getint(name, default)
        except (TypeError, ValueError):
            raise SettingError(
                f"{name}={self._raw(name, default)} is not a whole number (e.g. -s {name}=10)"
            ) from None
        if minimum is not None and value < minimum:
            raise SettingError(f"{name}={value} must be at least {minimum}")
        return value

    def getfloat(
        self,
        name: str,
        default: float = 0.0,
        *,
        minimum: float | None = None,
        above: float | None = None,
    ) -> float:
        """``float`` value of a setting, ``>= minimum`` and ``> above`` when given.

        Raises
        ------
        SettingError
            The value is not a number, or is out of range.
        """
        try:
            value = super().getfloat(name, default)
        except (TypeError, ValueError):
            raise SettingError(
                f"{name}={self._raw(name, default)} is not a number (e.g. -s {name}=1.5)"
            ) from None
        if math.isnan(value):
            raise SettingError(f"{name}={self._raw(name, default)} is not a number")
        if minimum is not None and value < minimum:
            raise SettingError(f"{name}={value:g} must be at least {minimum:g}")
        if above is not None and value <= above:
            raise SettingError(f"{name}={value:g} must be more than {above:g}")
        return value

    def getbool(self, name: str, default: bool = False) -> bool:
        """``bool`` value of a setting.

        Raises
        ------
        SettingError
            The value is not one of True/False, true/false, 1/0.
        """
        try:
            return super().getbool(name, default)
        except (TypeError, ValueError):
            raise SettingError(
                f"{name}={self._raw(name, default)} is not a boolean: use True or False"
            ) from None

    def getlist(self, name: str, default: list[Any] | None = None) -> list[Any]:
        """List value of a setting (a string is split on commas).

        Raises
        ------
        SettingError
            The value is neither a string nor a list.
        """
        value = self.get(name, default)
        if value is not None and not isinstance(value, str | list | tuple | set | frozenset):
            raise SettingError(
                f"{name}={value!r} is not a list (e.g. -s {name}=a,b or a list in settings.py)"
            )
        return super().getlist(name, default)

    def getdict(self, name: str, default: dict[Any, Any] | None = None) -> dict[Any, Any]:
        """Dict value of a setting (a string is read as JSON).

        Raises
        ------
        SettingError
            The value is not a dict or a JSON object.
        """
        try:
            value = super().getdict(name, default)
        except (TypeError, ValueError):
            value = None
        if not isinstance(value, dict):
            raise SettingError(
                f"{name}={self._raw(name, default)} is not a JSON object "
                f'(e.g. -s \'{name}={{"key": "value"}}\')'
            )
        return value


def checked(settings: BaseSettings) -> CheckedSettings:
    """``settings`` as :class:`CheckedSettings` (the same object if it is one already)."""
    if isinstance(settings, CheckedSettings):
        return settings
    return CheckedSettings(settings)
