"""openim-py: an instant-messaging server wire-compatible with OpenIM Server."""

__version__ = "0.1.0"
