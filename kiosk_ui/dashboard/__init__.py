"""The staff dashboard: a ROS-free FastAPI app on its own port, fed by the dashboard node.

The dashboard node builds a :class:`Dashboard` core from its parameters, wires its callbacks to
every discovered kiosk's topics, builds the app with :func:`create_app` and serves it with
uvicorn in a thread. ``python -m kiosk_ui.dashboard create-admin`` creates the first account.
"""

from kiosk_ui.dashboard.app import create_app
from kiosk_ui.dashboard.core import Dashboard, Hooks
from kiosk_ui.dashboard.settings import DashboardSettings

__all__ = ["Dashboard", "DashboardSettings", "Hooks", "create_app"]
