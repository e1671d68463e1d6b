"""The WebSocket stream of repo lifecycle events (``routes.py``)."""
