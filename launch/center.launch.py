"""The center's own nodes, run once per center: the fleet bridge to the province view (Zenoh).

`ros2 launch kiosk_robot center.launch.py` takes the same arguments as kiosk.launch.py
(namespace, params_file, log_level, respawn, kiosk_root); the bringup's mirror is
`kiosk_bringup --profile center`.
"""

import os

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

PROFILE = "center"


def generate_launch_description() -> LaunchDescription:
    kiosk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kiosk.launch.py")
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(kiosk), launch_arguments={"profile": PROFILE}.items()),
    ])
