"""WebSocket transport on :10001: connections, the sans-I/O frame codec, dispatch to services."""
