"""The domain: plain async classes; no FastAPI, no websockets, no SQL text."""
