from glob import glob

from setuptools import find_packages, setup

PACKAGE = "kiosk_robot"
NODES = ("microphone", "asr", "dialogue", "tts", "ui", "dashboard", "fleet_bridge", "perception", "motion", "base")
# technicians' commands: name → module:function
TOOLS = {
    "kiosk_bringup": "bringup:main",
    "kiosk_check_params": "param_files:main",
    "kiosk_params_doc": "params_doc:main",
    "kiosk_doctor": "doctor:main",
    "kiosk_systemd": "systemd:main",
    "kiosk_province_view": "fleet_view:main",
}

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="kiosk-robot maintainers",
    description="ROS 2 nodes of the Vietnamese public-service kiosk robot",
    license="GPL-3.0-or-later",
    entry_points={
        "console_scripts": [
            *(f"{node}_node = {PACKAGE}.{node}_node:main" for node in NODES),
            *(f"{name} = {PACKAGE}.{target}" for name, target in TOOLS.items()),
        ],
    },
)
