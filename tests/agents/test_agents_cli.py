"""The train, eval and render verbs end to end (on a toy simulator: fast)."""

from __future__ import annotations

import json

import numpy as np

from rewardlab.cli import main


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main([
        "train", "--env", "toy_sims:ToyGameSim", "--algo", "mappo", "--reward", "cooperative",
        "--set", "num_envs=4", "--set", "num_steps=7", "--set", "hidden_sizes=[32, 32]",
        "--set", "env.horizon=7", "--steps", "56", "--seed", "5", "--out", str(out), "--no-progress",
        "--device", "cpu",
    ])
    assert rc == 0
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 5 and config["agent"]["hidden_sizes"] == [32, 32]
    assert config["env_kwargs"] == {"horizon": 7} and config["reward"] == "cooperative"
    assert any(p.name.startswith("events.out.tfevents") for p in out.iterdir())
    curve = json.loads((out / "curve.json").read_text())
    assert [p["step"] for p in curve] == [28, 56]
    assert "term/gain" in curve[0] and "metric/final_mean_action" in curve[1]
    capsys.readouterr()
    assert main(["eval", str(out), "--episodes", "3", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["length"] == 7.0
    assert main(["eval", str(out / "checkpoint.pt"), "--episodes", "2"]) == 0
    assert "final_mean_action" in capsys.readouterr().out


def test_eval_video_and_render(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--env", "toy_sims:ToyGameSim", "--set", "num_envs=2", "--set", "num_steps=7",
                 "--steps", "14", "--out", str(out), "--no-progress"]) == 0
    rc = main(["eval", str(out), "--episodes", "1", "--video", str(tmp_path / "ep.gif")])
    err = capsys.readouterr().err
    assert (rc == 0 and (tmp_path / "ep.gif").stat().st_size > 0) or (rc == 2 and "imageio" in err)
    assert main(["render", "--env", "toy_sims:ToyGameSim", "--steps", "3", "--out", str(tmp_path / "f.png")]) == 0
    import matplotlib.image

    frame = matplotlib.image.imread(tmp_path / "f.png")
    assert frame.shape[:2] == (384, 384) and np.asarray(frame).max() > 0  # 32 px frames enlarged 12x
    assert main(["render", "--env", "toy_sims:ToyGameSim", "--steps", "3", "--scale", "1",
                 "--out", str(tmp_path / "g.png")]) == 0
    assert matplotlib.image.imread(tmp_path / "g.png").shape[:2] == (32, 32)


def test_bad_arguments_exit_with_a_message(tmp_path, capsys):
    rc = main(["train", "--env", "toy_sims:ToyGameSim", "--set", "nonsense=1", "--steps", "8", "--out", str(tmp_path)])
    assert rc == 2 and "unknown agent setting(s) 'nonsense'" in capsys.readouterr().err
    rc = main(["train", "--env", "toy_sims:ToyGameSim", "--set", "novalue", "--steps", "8"])
    assert rc == 2 and "KEY=VALUE" in capsys.readouterr().err
    rc = main(["eval", str(tmp_path / "missing")])
    assert rc == 2 and "no such checkpoint" in capsys.readouterr().err


def test_periodic_checkpoint_and_resume_match_an_uninterrupted_run(tmp_path, monkeypatch):
    """A run that checkpoints every 2 updates and crashes in update 3 resumes to the same params."""
    import pytest
    import torch

    from rewardlab.agents import PPO

    common = ["--env", "toy_sims:ToyGameSim", "--algo", "mappo", "--set", "num_envs=2", "--set", "num_steps=7",
              "--seed", "3", "--no-progress", "--device", "cpu", "--eval-episodes", "2", "--steps", "56"]
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert main(["train", *common, "--out", str(whole)]) == 0

    original = PPO.train_one_update

    def crash_in_update_3(self, num_updates):
        if self.update == 2:
            raise KeyboardInterrupt("simulated crash")
        return original(self, num_updates)

    monkeypatch.setattr(PPO, "train_one_update", crash_in_update_3)
    with pytest.raises(KeyboardInterrupt):
        main(["train", *common, "--save-every", "2", "--out", str(crashed)])
    monkeypatch.setattr(PPO, "train_one_update", original)
    assert PPO.load(crashed / "checkpoint.pt").update == 2

    assert main(["train", "--resume", str(crashed), "--no-progress", "--eval-episodes", "2"]) == 0
    a, b = PPO.load(whole / "checkpoint.pt"), PPO.load(crashed / "checkpoint.pt")
    assert a.update == b.update == 4
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    curve = json.loads((crashed / "curve.json").read_text())
    assert [p["step"] for p in curve] == [14, 28, 42, 56]
    reference = json.loads((whole / "curve.json").read_text())
    assert [p["policy_loss"] for p in curve] == [p["policy_loss"] for p in reference]


def test_eval_in_a_fresh_process_imports_the_runs_own_simulator_module(tmp_path):
    """The checkpoint names toy_sims.ToyGameSim; a new `rewardlab eval` process imports it from config.json."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "run"
    assert main(["train", "--env", "toy_sims:ToyGameSim", "--set", "num_envs=2", "--set", "num_steps=4",
                 "--steps", "8", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "rewardlab.cli", "eval", str(out), "--episodes", "1", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "final_mean_action" in json.loads(done.stdout)
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "env_id": "no_such_module_xyz:Sim"}))
    done = subprocess.run([sys.executable, "-m", "rewardlab.cli", "eval", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and "'no_such_module_xyz' cannot be imported" in done.stderr
