"""Dialogue core: knowledge base, intent model, multi-turn manager, address conversion.

Public API (contract 2)::

    from dialogue import DialogueEngine, EngineReply, DialogueUnavailable
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DialogueEngine", "DialogueUnavailable", "EngineReply"]

if TYPE_CHECKING:
    from dialogue.manager import DialogueEngine, DialogueUnavailable, EngineReply


def __getattr__(name: str) -> Any:
    """Import the engine lazily so ``dialogue.kb`` stays usable on its own."""
    if name in __all__:
        from dialogue import manager

        return getattr(manager, name)
    raise AttributeError(f"module 'dialogue' has no attribute {name!r}")
