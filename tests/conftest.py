"""Shared fixtures: an isolated ROS 2 domain and recorders of the kiosk's topics."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator

import pytest

from kiosk_robot.harness import REPO, Kiosk, TopicRecorder, espeak_wav, free_port, node_active

__all__ = ["REPO", "Kiosk", "TopicRecorder", "espeak_wav", "free_port", "node_active"]


@pytest.fixture(scope="session")
def ros_domain() -> Iterator[int]:
    """A random ROS_DOMAIN_ID, localhost-only discovery, for this test session."""
    domain = random.Random(os.getpid() ^ int(time.time())).randint(30, 200)
    saved = {k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")}
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    yield domain
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def recorder_factory(ros_domain) -> Iterator[Callable[[str], TopicRecorder]]:
    made: list[TopicRecorder] = []

    def make(namespace: str) -> TopicRecorder:
        recorder = TopicRecorder(namespace)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close()
