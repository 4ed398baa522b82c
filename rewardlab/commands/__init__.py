"""The verbs of the ``rewardlab`` command line (see rewardlab.cli)."""
