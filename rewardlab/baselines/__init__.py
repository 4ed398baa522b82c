"""Non-learning references and Stable-Baselines3 runners.

One module per concern: ``coopetition`` (game-theoretic oracles and heuristics), ``commons``
(heuristic populations), ``driving`` (the IDM route-following driver), ``locomotion`` (the PD gait
tracker), ``sb3`` (Stable-Baselines3 runners with RL-Zoo hyperparameters).
"""
