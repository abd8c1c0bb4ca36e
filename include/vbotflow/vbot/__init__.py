"""The VBot contract: wire format, timestamps, status codes and their classes (vbot-api.md)."""
