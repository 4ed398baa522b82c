"""The commons family (registry rows in ENVS)."""

ENVS = ()
