"""REST transport on :10002 (FastAPI): decode, call one service, encode in OpenIM's envelope."""
