"""Operator commands behind `openim` (config check, doctor, backup, logs): plain functions the CLI calls and prints.

Modules here may read storage and infra directly, but never import the transports (api, gateway).
"""
