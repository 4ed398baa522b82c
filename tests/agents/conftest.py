"""The agent tests' helper simulators in this folder are importable (tracking_sim)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
