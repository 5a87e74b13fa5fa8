"""Speech only: microphone, ASR, dialogue and TTS (a voice conversation without screen or camera).

`ros2 launch kiosk_robot speech.launch.py` takes the same arguments as kiosk.launch.py
(namespace, params_file, log_level, respawn, kiosk_root); the bringup's mirror is
`kiosk_bringup --profile speech`.
"""

import os

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

PROFILE = "speech"


def generate_launch_description() -> LaunchDescription:
    kiosk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kiosk.launch.py")
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(kiosk), launch_arguments={"profile": PROFILE}.items()),
    ])
