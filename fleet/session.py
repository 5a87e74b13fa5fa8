"""Opening a Zenoh session from a few options (or a full Zenoh config file kept outside the repo)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ZenohOptions:
    """``connect``/``listen``: endpoints such as ``tcp/127.0.0.1:7447``. ``config_path``: a Zenoh
    JSON5 file (TLS certificates, user/password) applied first; keep it outside the repository."""

    mode: str = "peer"  # peer | client
    connect: tuple[str, ...] = ()
    listen: tuple[str, ...] = ()
    multicast_scouting: bool = False  # also gossip scouting and listening on every interface
    config_path: str = ""


def endpoints(text: str) -> tuple[str, ...]:
    """'tcp/a:1, tcp/b:2' → ('tcp/a:1', 'tcp/b:2')."""
    return tuple(e.strip() for e in text.split(",") if e.strip())


def open_session(options: ZenohOptions):
    import zenoh

    config = zenoh.Config.from_file(str(Path(options.config_path))) if options.config_path else zenoh.Config()
    config.insert_json5("mode", json.dumps(options.mode))
    # without scouting the session talks only to the endpoints given: no multicast, no gossip
    # (peers would otherwise learn and dial each other's addresses), and a peer listens only where
    # told (Zenoh's default for a peer is every interface)
    config.insert_json5("scouting/multicast/enabled", json.dumps(options.multicast_scouting))
    config.insert_json5("scouting/gossip/enabled", json.dumps(options.multicast_scouting))
    if options.connect:
        config.insert_json5("connect/endpoints", json.dumps(list(options.connect)))
    if options.listen or not options.multicast_scouting:
        config.insert_json5("listen/endpoints", json.dumps(list(options.listen)))
    return zenoh.open(config)
