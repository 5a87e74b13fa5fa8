"""Past one center: each center's kiosk health, escalations and statistics over Zenoh.

Key expressions (one chunk per level, ids folded to ``a-z0-9-``)::

    kiosk/<province>/<center>/<kiosk>/health       worst level over the kiosk's nodes + each node
    kiosk/<province>/<center>/<kiosk>/escalation   one per hand-over (citizen's words left out)
    kiosk/<province>/<center>/<kiosk>/stats        visits, replies, escalations, ratings
    kiosk/<province>/<center>/alive                liveliness token of the center's bridge

:class:`CenterPublisher` (used by the ``fleet_bridge`` ROS node) puts them and answers queries
for the latest ones; :class:`ProvinceView` subscribes to ``kiosk/<province>/**``, asks for the
latest values when it starts and notices centers that go away. No ROS here.
"""

from fleet.keys import FleetKeys, key_id
from fleet.publisher import CenterPublisher
from fleet.session import ZenohOptions, open_session
from fleet.state import CenterState
from fleet.view import ProvinceView

__all__ = ["CenterPublisher", "CenterState", "FleetKeys", "ProvinceView", "ZenohOptions", "key_id", "open_session"]
