"""The latest catalog from the dialogue node, with its search index, shared by the routes."""

from __future__ import annotations

import threading

from kiosk_protocol import Catalog
from kiosk_ui.search import CatalogIndex

__all__ = ["CatalogStore"]


class CatalogStore:
    """Thread safe: the ROS callback sets a new catalog, the server's routes read the index."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._lock = threading.Lock()
        self._index: CatalogIndex | None = None
        if catalog is not None:
            self.set(catalog)

    def set(self, catalog: Catalog) -> bool:
        """Use ``catalog`` from now on; True when its version is new."""
        index = CatalogIndex(catalog)  # built outside the lock: readers keep the old one meanwhile
        with self._lock:
            changed = self._index is None or self._index.catalog.version != catalog.version
            self._index = index
        return changed

    @property
    def index(self) -> CatalogIndex | None:
        with self._lock:
            return self._index
