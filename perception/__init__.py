"""Perception core (no ROS): camera sources, face detection, tracking, engagement, attention.

* :mod:`perception.capture` — devices, video files, network streams, generated frames
* :mod:`perception.detector` — BlazeFace (OpenCV TFLite) and the Haar baseline
* :mod:`perception.tracking` — faces in the robot's frame, tracks with stable ids
* :mod:`perception.engagement` — REP-155 engagement levels per person (ROS4HRI's metric)
* :mod:`perception.attention` — the closest engaged visitor; engaged / update / left
* :mod:`perception.presence` — the whole pipeline, frame by frame
* :mod:`perception.scene` — scenes composed from real photographs (simulated camera, tests)

Privacy: frames live in memory only; no face is identified or remembered (track ids are random
and new for every appearance).
"""
