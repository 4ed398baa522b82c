"""keep_run_files: a study's runs keep their run directory; the smoothness figures read it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.executors import ablate
from rewardlab.studies.spec import load_study

REPO = Path(__file__).resolve().parent.parent.parent
TINY = {"num_envs": 2, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1}


def write_spec(folder: Path, keep: bool) -> Path:
    spec = {
        "name": "tiny_smoothness",
        "envs": ["rewardlab/LocoImitation-v0"],
        "base": {"total_steps": 32, "eval_episodes": 1, "agent_kwargs": dict(TINY)},
        "grid": {"variant": {
            "mlp": {},
            "lpn+jacobian": {"agent_kwargs.policy": "lpn", "agent_kwargs.phase_index": [46, 47],
                             "agent_kwargs.jacobian_penalty": 0.1},
        }},
        "seeds": 1,
        "metrics": ["imitation_return", "smoothness_sm"],
        "keep_run_files": keep,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def load_figures_module():
    spec = importlib.util.spec_from_file_location("smoothness_figures", REPO / "studies" / "smoothness_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kept_study(tmp_path_factory):
    """A two-run LocoImitation study (MLP, LPN + Jacobian penalty) that keeps its run files."""
    folder = tmp_path_factory.mktemp("kept")
    out = folder / "results"
    summary = ablate(load_study(write_spec(folder, keep=True)), out, workers=1)
    assert summary.ok
    return out


def test_kept_run_files_give_the_action_figure_and_the_competence_table(kept_study, tmp_path):
    out = kept_study
    keys = [path.stem for path in (out / "runs").glob("*.json")]
    assert len(keys) == 2
    for key in keys:
        run_dir = out / "run_files" / key
        assert (run_dir / "checkpoint.pt").is_file()
        assert json.loads((run_dir / "curve.json").read_text())  # the learning curve, one point per update

    figures = load_figures_module()
    figures.main([str(out), "--out", str(tmp_path / "img"), "--window", "1"])
    assert (tmp_path / "img" / "smoothness_actions.png").stat().st_size > 1000
    table = (tmp_path / "img" / "smoothness_competence.md").read_text().splitlines()
    assert [line.split("|")[1].strip() for line in table[2:]] == ["mlp", "lpn+jacobian"]  # plan order


def test_episode_actions_replays_the_saved_policy(kept_study):
    out = kept_study
    figures = load_figures_module()
    checkpoint = next((out / "run_files").glob("*/checkpoint.pt"))
    first, rate = figures.episode_actions(checkpoint, seed=5)
    again, _ = figures.episode_actions(checkpoint, seed=5)
    assert rate == 50.0
    assert first.shape[1] == 12 and 1 <= len(first) <= 500
    assert (first == again).all()  # a deterministic policy from the same start
    freq, amplitude = figures.amplitude_spectrum(first, rate)
    assert freq[-1] <= rate / 2 and amplitude.shape == freq.shape


def test_runs_write_no_files_unless_the_study_keeps_them(tmp_path):
    out = tmp_path / "results"
    ablate(load_study(write_spec(tmp_path, keep=False)), out, workers=1)
    assert len(list((out / "runs").glob("*.json"))) == 2
    assert not (out / "run_files").exists()


def test_keep_run_files_must_be_a_boolean(tmp_path):
    path = write_spec(tmp_path, keep=True)
    path.write_text(path.read_text().replace("keep_run_files: true", "keep_run_files: sometimes"))
    with pytest.raises(RewardlabError, match="keep_run_files must be true or false, got 'sometimes'"):
        load_study(path)


def test_amplitude_spectrum_finds_a_sine_at_its_frequency():
    figures = load_figures_module()
    t = np.arange(500) / 50.0
    actions = np.stack([0.3 * np.sin(2 * np.pi * 5.0 * t)] * 12, axis=1) + 1.0
    freq, amplitude = figures.amplitude_spectrum(actions, 50.0)
    assert freq[np.argmax(amplitude)] == pytest.approx(5.0)
    assert amplitude.max() == pytest.approx(0.3, rel=1e-6)  # (2/N)|FFT| of a whole-period sine is its amplitude
