"""The kiosk's touchscreen page: a ROS-free FastAPI app fed by an :class:`EventHub`.

The ROS node creates an ``EventHub``, builds the app with :func:`create_app` and runs it with
uvicorn in a background thread; ROS callbacks call ``hub.publish(...)`` from any thread.
"""

from kiosk_ui.app import BackgroundServer, InputCallback, UiSettings, create_app
from kiosk_ui.hub import EventHub

__all__ = ["BackgroundServer", "EventHub", "InputCallback", "UiSettings", "create_app"]
