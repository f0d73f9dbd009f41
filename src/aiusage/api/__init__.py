"""The read-only team self-service API."""
