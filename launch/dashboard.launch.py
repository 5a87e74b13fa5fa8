"""Launch the center's staff dashboard alone: `ros2 launch kiosk_robot dashboard.launch.py`.

One dashboard serves every kiosk of the center on the DDS domain (each kiosk in its own
namespace, found by itself). Arguments: namespace (default ``center``), params_file, log_level,
respawn, kiosk_root (where relative paths resolve: var/dashboard/, dialogue/kb/, models/). The
first login account: ``python -m kiosk_ui.dashboard create-admin``. Without ``ros2 launch``:
``kiosk_bringup --namespace center --nodes dashboard`` (the bringup puts it in --dashboard-namespace).
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

try:
    from ament_index_python.packages import get_package_share_directory

    SHARE = get_package_share_directory("kiosk_robot")
except Exception:  # run from a source checkout
    SHARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

DASHBOARD_NODE = ("dashboard", "dashboard_node", ["config/kiosk.yaml"])


def generate_launch_description() -> LaunchDescription:
    name, executable, _files = DASHBOARD_NODE
    respawn = LaunchConfiguration("respawn")
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="center", description="namespace of the dashboard"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(SHARE, "config", "kiosk.yaml"),
                              description="parameter file (the /**/dashboard section)"),
        DeclareLaunchArgument("log_level", default_value="info", description="debug, info, warn, error"),
        DeclareLaunchArgument("respawn", default_value="true", description="restart the dashboard if it dies"),
        DeclareLaunchArgument("kiosk_root", default_value=os.getcwd(),
                              description="folder with var/, dialogue/kb/, models/"),
        SetEnvironmentVariable("KIOSK_ROOT", LaunchConfiguration("kiosk_root")),
        Node(
            package="kiosk_robot",
            executable=executable,
            name=name,
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file")],
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            respawn=PythonExpression(["'", respawn, "' == 'true'"]),
            respawn_delay=2.0,
            output="screen",
        ),
    ])
