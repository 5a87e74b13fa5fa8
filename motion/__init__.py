"""Motion core (no ROS): safe velocity commands for the kiosk's base.

* :mod:`motion.limits` — velocity and acceleration limits that hold whatever comes in
* :mod:`motion.turning` — bearing → angular velocity (deadband, limit), home heading, greeting gesture
* :mod:`motion.safety` — latched, persisted emergency stop; watchdog
* :mod:`motion.controller` — the motion node's decision each cycle
* :mod:`motion.base` — the driver interface for a real base, and the simulated base
"""
