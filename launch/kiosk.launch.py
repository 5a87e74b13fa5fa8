"""Launch the whole kiosk with `ros2 launch kiosk_robot kiosk.launch.py` on a ROS 2 install.

Arguments: namespace, params_file, log_level, respawn, kiosk_root (folder that relative paths in
the parameter file resolve against: models/, dialogue/kb/, var/). Every node is a lifecycle
node that configures and activates itself (parameter `autostart`). The pip-installed setup,
which has no `ros2 launch`, starts the same nodes with the same files through
`kiosk_bringup` (scripts/run_kiosk.sh); tests/test_launch.py keeps the two in step.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

try:
    from ament_index_python.packages import get_package_share_directory

    SHARE = get_package_share_directory("kiosk_robot")
except Exception:  # run from a source checkout
    SHARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# (node name, executable, parameter files relative to the package share / repo root)
KIOSK_NODES = [
    ("microphone", "microphone_node", ["config/kiosk.yaml"]),
    ("asr", "asr_node", ["config/kiosk.yaml"]),
    ("dialogue", "dialogue_node", ["config/kiosk.yaml"]),
    ("tts", "tts_node", ["config/kiosk.yaml"]),
    ("ui", "ui_node", ["config/kiosk.yaml"]),
    ("perception", "perception_node", ["config/kiosk.yaml"]),
    ("motion", "motion_node", ["config/kiosk.yaml"]),
    ("base", "base_node", ["config/kiosk.yaml"]),
]
# processes hosting several nodes keep their nodes' own names (camera + engagement share frames)
COMPOSED = {"perception": ["camera", "engagement"]}


def generate_launch_description() -> LaunchDescription:
    namespace = LaunchConfiguration("namespace")
    params_file = LaunchConfiguration("params_file")
    log_level = LaunchConfiguration("log_level")
    respawn = LaunchConfiguration("respawn")
    arguments = [
        DeclareLaunchArgument("namespace", default_value="kiosk", description="ROS namespace of this kiosk"),
        DeclareLaunchArgument(
            "params_file",
            default_value=os.path.join(SHARE, "config", "kiosk.yaml"),
            description="parameter file for all kiosk nodes (keyed by node name)",
        ),
        DeclareLaunchArgument("log_level", default_value="info", description="debug, info, warn, error"),
        DeclareLaunchArgument("respawn", default_value="true", description="restart a node that dies"),
        DeclareLaunchArgument(
            "kiosk_root", default_value=os.getcwd(), description="folder with models/, dialogue/kb/, var/"
        ),
        DeclareLaunchArgument("use_ui", default_value="true", description="serve the kiosk page"),
        DeclareLaunchArgument("use_presence", default_value="true",
                              description="camera/engagement, motion and base nodes (false: no camera, no motion)"),
    ]
    nodes = [
        Node(
            package="kiosk_robot",
            executable=executable,
            name=None if name in COMPOSED else name,
            namespace=namespace,
            parameters=[params_file],
            arguments=["--ros-args", "--log-level", log_level],
            respawn=PythonExpression(["'", respawn, "' == 'true'"]),
            respawn_delay=2.0,
            output="screen",
            condition=IfCondition(LaunchConfiguration("use_ui")) if name == "ui"
            else IfCondition(LaunchConfiguration("use_presence")) if name in ("perception", "motion", "base")
            else None,
        )
        for name, executable, _files in KIOSK_NODES
    ]
    return LaunchDescription(
        [*arguments, SetEnvironmentVariable("KIOSK_ROOT", LaunchConfiguration("kiosk_root")), *nodes]
    )
