"""What has an in-process and a Redis implementation: clock, token state, presence, bus, queue, cache."""
