"""Routers of the staff dashboard, one per area: auth, accounts, live, stats, kb, pages."""
