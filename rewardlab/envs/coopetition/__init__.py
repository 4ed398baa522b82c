"""The coopetition family (registry rows in ENVS)."""

ENVS = ()
