"""kiosk_province_view: the console entry point of :mod:`fleet.view`."""

from fleet.view import main

__all__ = ["main"]
