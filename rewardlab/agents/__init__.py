"""rewardlab's own PyTorch agents."""
