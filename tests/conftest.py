"""Shared test set-up: the toy simulators in this folder are importable as `toy_sims`."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("MUJOCO_GL", "osmesa")
