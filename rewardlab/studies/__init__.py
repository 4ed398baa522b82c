"""Reward-ablation studies: spec, executors, results store and report."""
