"""The gateway's logic: plain functions with keyword-only arguments, no HTTP in sight."""
