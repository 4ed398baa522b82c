"""rewardlab's own PyTorch agents.

==================  ===========================================================================
``PPO``             PPO (CleanRL details) on a batched simulator or VectorEnv; IPPO on multi-agent
``MAPPO``           PPO with a centralised critic
``PPOConfig``       every setting (the keys of ``agent_kwargs``)
``train_and_evaluate``  train on an env id and evaluate: the entry point of studies and the CLI
==================  ===========================================================================

Policies (MLP, Linear Policy Net) are in :mod:`rewardlab.agents.policies`, the smoothness losses
(action Jacobian, CAPS, Lipschitz) in :mod:`rewardlab.agents.penalties`, and the optional fast
backend (``PPOConfig(backend="fast")``: a NumPy rollout policy and a hand-written gradient for the
MLP-Gaussian policy) in :mod:`rewardlab.agents.fast`.
"""

from rewardlab.agents.ppo import ALGORITHMS, MAPPO, PPO, PPOConfig, resolve_device
from rewardlab.agents.run import ALGOS, RunResult, train_and_evaluate

__all__ = ["ALGORITHMS", "ALGOS", "MAPPO", "PPO", "PPOConfig", "RunResult", "resolve_device", "train_and_evaluate"]
