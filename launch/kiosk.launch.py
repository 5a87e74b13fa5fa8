"""Launch the kiosk with `ros2 launch kiosk_robot kiosk.launch.py` on a ROS 2 install.

Arguments: namespace, params_file, log_level, respawn, kiosk_root (folder that relative paths in
the parameter file resolve against: models/, dialogue/kb/, var/), profile (which use: kiosk,
speech, perception, sim, center; speech.launch.py, perception.launch.py, sim.launch.py and
center.launch.py are this file with that profile), use_ui, and use_dashboard / dashboard_namespace:
the staff dashboard is one per center, so only one kiosk's launch starts it (``use_dashboard:=false``
for the others; or launch it alone with dashboard.launch.py). Every node is a lifecycle node that
configures and activates itself (parameter `autostart`). The pip-installed setup, which has no
`ros2 launch`, starts the same nodes with the same files through `kiosk_bringup --profile P`
(scripts/run_kiosk.sh); tests/test_launch.py keeps the two in step.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
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
    ("dashboard", "dashboard_node", ["config/kiosk.yaml"]),
    ("perception", "perception_node", ["config/kiosk.yaml"]),
    ("motion", "motion_node", ["config/kiosk.yaml"]),
    ("base", "base_node", ["config/kiosk.yaml"]),
]
# processes hosting several nodes keep their nodes' own names (camera + engagement share frames)
COMPOSED = {"perception": ["camera", "engagement"]}
PRESENCE = {"perception", "motion", "base"}
PER_CENTER = {"dashboard"}  # one per center, in its own namespace
# (node name, executable, parameter files) run once per center, not per kiosk
CENTER_NODES = [
    ("fleet_bridge", "fleet_bridge_node", ["config/kiosk.yaml"]),
]
# Which nodes each use starts ("KIOSK_NODES": all of them) and the parameter files it adds after
# the nodes' own. A new node joins a use by adding its name to that use's list.
PROFILES = {
    "kiosk": {"nodes": "KIOSK_NODES", "params_files": []},
    "speech": {"nodes": ["microphone", "asr", "dialogue", "tts"], "params_files": []},
    "perception": {"nodes": ["perception", "motion", "base"], "params_files": []},  # the robot's presence
    "sim": {"nodes": "KIOSK_NODES", "params_files": ["config/sim.yaml"]},
    "center": {"nodes": "CENTER_NODES", "params_files": []},
    "dashboard": {"nodes": ["dashboard"], "params_files": []},
}


def profile_nodes(profile: str) -> list:
    if profile not in PROFILES:
        raise RuntimeError(f"unknown profile '{profile}'; known: {', '.join(PROFILES)}")
    names = PROFILES[profile]["nodes"]
    if names in ("KIOSK_NODES", "CENTER_NODES"):
        return KIOSK_NODES if names == "KIOSK_NODES" else CENTER_NODES
    return [n for n in KIOSK_NODES + CENTER_NODES if n[0] in names]


def _nodes(context, *args, **kwargs) -> list:
    """The profile's nodes, each with the main parameter file, then the profile's own files."""
    profile = LaunchConfiguration("profile").perform(context)
    params = [LaunchConfiguration("params_file").perform(context)]
    params += [os.path.join(SHARE, f) for f in PROFILES.get(profile, {}).get("params_files", [])]
    respawn = LaunchConfiguration("respawn").perform(context) == "true"
    use_ui = LaunchConfiguration("use_ui").perform(context) == "true"
    use_dashboard = LaunchConfiguration("use_dashboard").perform(context) == "true"
    use_presence = LaunchConfiguration("use_presence").perform(context) == "true"
    return [
        Node(
            package="kiosk_robot",
            executable=executable,
            name=None if name in COMPOSED else name,
            namespace=LaunchConfiguration("dashboard_namespace" if name in PER_CENTER else "namespace"),
            parameters=params,
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            respawn=respawn,
            respawn_delay=2.0,
            output="screen",
        )
        for name, executable, _files in profile_nodes(profile)
        if (use_ui or name != "ui") and (use_dashboard or name != "dashboard")
        and (use_presence or name not in PRESENCE)
    ]


def generate_launch_description() -> LaunchDescription:
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
        DeclareLaunchArgument("use_dashboard", default_value="true",
                              description="start the center's staff dashboard (false on every kiosk but one)"),
        DeclareLaunchArgument("dashboard_namespace", default_value="center", description="namespace of the dashboard"),
        DeclareLaunchArgument("use_presence", default_value="true",
                              description="camera/engagement, motion and base nodes (false: no camera, no motion)"),
        DeclareLaunchArgument("profile", default_value="kiosk", description="which use: " + ", ".join(PROFILES)),
    ]
    return LaunchDescription(
        [*arguments, SetEnvironmentVariable("KIOSK_ROOT", LaunchConfiguration("kiosk_root")),
         OpaqueFunction(function=_nodes)]
    )
