"""rewardlab's own PyTorch agents.

==================  ===========================================================================
``PPO``             PPO (CleanRL details) on a batched simulator or VectorEnv; IPPO on multi-agent
``MAPPO``           PPO with a centralised critic
``PPOConfig``       every setting (the keys of ``agent_kwargs``)
``train_and_evaluate``  train on an env id and evaluate: the entry point of studies and the CLI
==================  ===========================================================================

Policies (MLP, Linear Policy Net) are in :mod:`rewardlab.agents.policies`, the smoothness losses
(action Jacobian, CAPS, Lipschitz) in :mod:`rewardlab.agents.penalties`, the flat-vector
optimiser and the hand-written MLP-Gaussian PPO gradient in :mod:`rewardlab.agents.handgrad`.
"""

from rewardlab.agents.mappo import MAPPO
from rewardlab.agents.ppo import PPO, PPOConfig, resolve_device
from rewardlab.agents.run import ALGOS, RunResult, train_and_evaluate

__all__ = ["ALGOS", "MAPPO", "PPO", "PPOConfig", "RunResult", "resolve_device", "train_and_evaluate"]
