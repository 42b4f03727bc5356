"""The node's HTTP API for the hospital's own systems (HIS, PACS)."""
