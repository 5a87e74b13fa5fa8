"""ROS 2 adapters of the kiosk: one thin lifecycle node per responsibility, plus the bringup."""
