"""HTTP and WebSocket routes of the kiosk page, one router per area."""
