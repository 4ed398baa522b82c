"""The locomotion family (registry rows in ENVS)."""

ENVS = ()
