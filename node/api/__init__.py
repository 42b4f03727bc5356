"""The node's HTTP API (FastAPI) for the hospital's own systems and for peer nodes."""
