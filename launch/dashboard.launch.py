"""The center's staff dashboard alone: `ros2 launch kiosk_robot dashboard.launch.py`.

One dashboard serves every kiosk of the center on the DDS domain (each kiosk in its own
namespace, found by itself); it runs in ``dashboard_namespace`` (default ``center``). It takes the
same arguments as kiosk.launch.py (params_file, log_level, respawn, kiosk_root: where relative
paths resolve: var/dashboard/, dialogue/kb/, models/). The first login account:
``python -m kiosk_ui.dashboard create-admin``. The bringup's mirror is
``kiosk_bringup --profile dashboard``.
"""

import os

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

PROFILE = "dashboard"


def generate_launch_description() -> LaunchDescription:
    kiosk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kiosk.launch.py")
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(kiosk), launch_arguments={"profile": PROFILE}.items()),
    ])
