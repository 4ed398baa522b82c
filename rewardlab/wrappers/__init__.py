"""Reward-shaping wrappers usable on any Gymnasium or PettingZoo environment."""
