"""The driving family (registry rows in ENVS)."""

ENVS = ()
