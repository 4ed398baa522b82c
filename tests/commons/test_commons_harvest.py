"""CommonsHarvest-v0: regrowth frequencies, movement and collisions, zapping, views, metrics."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.commons.harvest import (
    BACKWARD,
    FORWARD_MOVE,
    NOOP,
    STEP_LEFT,
    STEP_RIGHT,
    TURN_LEFT,
    TURN_RIGHT,
    ZAP,
)

ENV_ID = "rewardlab/CommonsHarvest-v0"
NORTH, EAST, SOUTH, WEST = range(4)

# five 3 x 3 apple blocks, 4 columns apart (no cell of one block is within distance 2 of another)
PROBE_MAP = "\n".join(
    [
        "W" * 33,
        "WP P                            W",
        "W                               W",
        "W AAA   AAA   AAA   AAA   AAA   W",
        "W AAA   AAA   AAA   AAA   AAA   W",
        "W AAA   AAA   AAA   AAA   AAA   W",
        "W" * 33,
    ]
)

ROOM = "\n".join(["WWWWWWWWW", "WP  P  PW", "W       W", "W       W", "W  AAA  W", "W       W", "WWWWWWWWW"])


def _sim(num_envs=1, **kwargs):
    sim = rewardlab.make_sim(ENV_ID, num_envs=num_envs, **kwargs)
    sim.reset(seed=0)
    return sim


def _place(sim, positions, orientations):
    sim.pos[:] = np.asarray(positions)
    sim.ori[:] = np.asarray(orientations)
    sim.removed[:] = 0


@pytest.mark.parametrize("map_name", ["open", "closed"])
def test_regrowth_frequencies_within_binomial_bounds(map_name):
    num_envs, steps = 1000, 120
    sim = _sim(num_envs, num_agents=2, ascii_map=PROBE_MAP, map_name=map_name, horizon=steps + 1)
    table = sim.params.regrowth_probs
    rc = sim.apple_rc
    # block j's centre is the target; k_j of its 8 surrounding cells are kept alive
    centres = [(4, 3 + 6 * j) for j in range(5)]
    alive_counts = [0, 1, 2, 3, 5]
    state = np.zeros(len(rc), dtype=bool)
    targets = []
    for (r, c), k in zip(centres, alive_counts, strict=True):
        ring = [(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
        for cell in ring[:k]:
            state[np.flatnonzero((rc == cell).all(axis=1))[0]] = True
        targets.append(np.flatnonzero((rc == (r, c)).all(axis=1))[0])
    regrown = np.zeros(5)
    noop = np.zeros((num_envs, 2), dtype=np.int64)
    for _ in range(steps):
        sim.apples[:] = state
        sim.step(noop)
        regrown += sim.apples[:, targets].sum(axis=0)
    trials = num_envs * steps
    for k, count in zip(alive_counts, regrown, strict=True):
        p = table[min(k, 3)]
        if p == 0:
            assert count == 0  # no live neighbour: the cell is lost for good
        else:
            bound = 4.5 * np.sqrt(p * (1 - p) / trials)
            assert abs(count / trials - p) < bound, (k, count / trials, p)


# lone apple cells: (3, 3) has one neighbour at distance 2 (3, 5); (3, 10) has one at distance
# sqrt(5) (4, 12); (3, 17) has one at distance 2 straight below (5, 17)
RADIUS_MAP = "\n".join(
    [
        "W" * 22,
        "WP P                 W",
        "W                    W",
        "W  A A    A      A   W",
        "W           A        W",
        "W                A   W",
        "W" * 22,
    ]
)


def test_regrowth_counts_neighbours_within_distance_2_only():
    num_envs, steps = 1000, 60
    sim = _sim(num_envs, num_agents=2, ascii_map=RADIUS_MAP, horizon=steps + 1)
    rc = [tuple(cell) for cell in sim.apple_rc]
    targets = [rc.index(cell) for cell in [(3, 3), (3, 10), (3, 17)]]
    state = np.zeros(len(rc), dtype=bool)
    state[[rc.index(cell) for cell in [(3, 5), (4, 12), (5, 17)]]] = True
    regrown = np.zeros(3)
    for _ in range(steps):
        sim.apples[:] = state
        sim.step(np.zeros((num_envs, 2), dtype=np.int64))
        regrown += sim.apples[:, targets].sum(axis=0)
    trials = num_envs * steps
    p = sim.params.regrowth_probs[1]
    bound = 4.5 * np.sqrt(p * (1 - p) / trials)
    assert abs(regrown[0] / trials - p) < bound  # distance 2 counts
    assert regrown[1] == 0  # distance sqrt(5) does not: no live neighbour, lost for good
    assert abs(regrown[2] / trials - p) < bound


def test_moves_are_relative_to_orientation_and_walls_block():
    sim = _sim(num_agents=2, ascii_map=ROOM)
    _place(sim, [[[2, 2], [2, 6]]], [[NORTH, EAST]])
    sim.step(np.array([[STEP_RIGHT, FORWARD_MOVE]]))  # 0: east to (2, 3); 1: east into... (2, 7)
    np.testing.assert_array_equal(sim.pos[0], [[2, 3], [2, 7]])
    sim.step(np.array([[BACKWARD, FORWARD_MOVE]]))  # 0: south to (3, 3); 1: wall at (2, 8): blocked
    np.testing.assert_array_equal(sim.pos[0], [[3, 3], [2, 7]])
    sim.step(np.array([[TURN_RIGHT, TURN_LEFT]]))
    np.testing.assert_array_equal(sim.ori[0], [EAST, NORTH])
    sim.step(np.array([[STEP_LEFT, STEP_LEFT]]))  # 0 faces east: left is north; 1 faces north: west
    np.testing.assert_array_equal(sim.pos[0], [[2, 3], [2, 6]])


def test_collisions_resolved_by_per_step_priority():
    winners = []
    for seed in range(40):
        sim = rewardlab.make_sim(ENV_ID, num_envs=1, num_agents=2, ascii_map=ROOM)
        sim.reset(seed=seed)
        _place(sim, [[[2, 3], [2, 5]]], [[EAST, WEST]])
        sim.step(np.array([[FORWARD_MOVE, FORWARD_MOVE]]))  # both want (2, 4)
        at_target = (sim.pos[0] == [2, 4]).all(axis=1)
        assert at_target.sum() == 1
        winners.append(int(np.argmax(at_target)))
    assert 8 < sum(winners) < 32  # both win sometimes: no agent is favoured by its index
    # a standing player blocks, and two players cannot swap cells
    sim = _sim(num_agents=2, ascii_map=ROOM)
    _place(sim, [[[2, 3], [2, 4]]], [[EAST, WEST]])
    sim.step(np.array([[FORWARD_MOVE, NOOP]]))
    np.testing.assert_array_equal(sim.pos[0], [[2, 3], [2, 4]])
    sim.step(np.array([[FORWARD_MOVE, FORWARD_MOVE]]))
    np.testing.assert_array_equal(sim.pos[0], [[2, 3], [2, 4]])


def test_zap_removes_for_timeout_then_respawns():
    sim = _sim(num_agents=3, ascii_map=ROOM, zap_timeout=5, horizon=50)
    _place(sim, [[[3, 2], [3, 4], [3, 7]]], [[EAST, NORTH, NORTH]])
    step = sim.step(np.array([[ZAP, NOOP, NOOP]]))  # beam (3,3),(3,4),(3,5): hits player 1 only
    np.testing.assert_array_equal(step.terms["zap_fired"][0], [1, 0, 0])
    np.testing.assert_array_equal(step.terms["zapped"][0], [0, 1, 0])
    assert not step.obs[0, 1].any()  # a removed player sees nothing
    for _ in range(4):
        step = sim.step(np.zeros((1, 3), dtype=np.int64))
        assert step.info["removed"][0, 1]
    step = sim.step(np.zeros((1, 3), dtype=np.int64))
    assert not step.info["removed"][0, 1]
    assert tuple(sim.pos[0, 1]) in {(1, 1), (1, 4), (1, 7)}  # a spawn point
    # a wall stops the beam
    sim = _sim(num_agents=2, ascii_map=ROOM)
    _place(sim, [[[1, 1], [1, 7]]], [[WEST, NORTH]])
    assert not sim.step(np.array([[ZAP, NOOP]])).terms["zapped"].any()
    for _ in range(sim.params.horizon - 1):
        step = sim.step(np.zeros((1, 2), dtype=np.int64))


def test_eating_and_egocentric_view_rotates():
    sim = _sim(num_agents=2, ascii_map=ROOM, regrowth_probs=(0, 0, 0, 0))
    _place(sim, [[[3, 4], [1, 1]]], [[SOUTH, NORTH]])
    step = sim.step(np.array([[FORWARD_MOVE, NOOP]]))  # onto the apple at (4, 4)
    np.testing.assert_array_equal(step.terms["apples"][0], [1, 0])
    assert step.info["apples_left"][0] == 2
    p = sim.params
    # facing south from (4, 4), the player's right is west: (4, 3) is to its right, (4, 5) left
    obs = step.obs[0, 0]
    assert obs.shape == (3, 11, 11)
    assert obs[1, p.view_ahead, p.view_side + 1] == 1  # (4, 3): right of a south-facing player
    assert obs[1, p.view_ahead, p.view_side - 1] == 1  # (4, 5): left
    assert obs[0, p.view_ahead - 2, p.view_side] == 1  # two ahead (6, 4) is the bottom wall
    # player 1 at (1, 1) facing north: the row ahead is the top wall, the view beyond is wall too
    assert step.obs[0, 1, 0, : p.view_ahead, :].all()
    # the other player appears in the players layer at its relative position
    _place(sim, [[[2, 2], [2, 5]]], [[EAST, NORTH]])
    obs = sim._observe()[0, 0]
    assert obs[2, p.view_ahead - 3, p.view_side] == 1 and obs[2].sum() == 1


@pytest.mark.parametrize("view", [(9, 1, 5), (4, 0, 1), (2, 3, 4)])
def test_views_match_a_cell_by_cell_reference(view):
    """Every view cell against pos + a * forward + l * right, looked up one cell at a time."""
    ahead, behind, side = view
    sim = rewardlab.make_sim(
        ENV_ID, num_envs=3, map_name="closed", view_ahead=ahead, view_behind=behind, view_side=side
    )
    sim.reset(seed=2)
    rng = np.random.default_rng(0)
    forward = {NORTH: (-1, 0), EAST: (0, 1), SOUTH: (1, 0), WEST: (0, -1)}
    right = {NORTH: (0, 1), EAST: (1, 0), SOUTH: (0, -1), WEST: (-1, 0)}
    for _ in range(25):
        step = sim.step(rng.integers(0, 8, size=(3, 7)))
    obs = step.obs
    walls = sim.walls
    apples = np.zeros((3, *walls.shape), dtype=bool)
    for b in range(3):
        for k, (r, c) in enumerate(sim.apple_rc):
            apples[b, r, c] = sim.apples[b, k]
    for b in range(3):
        for i in range(7):
            if sim.removed[b, i]:
                assert not obs[b, i].any()
                continue
            f, rt = forward[int(sim.ori[b, i])], right[int(sim.ori[b, i])]
            for row in range(ahead + behind + 1):
                for col in range(2 * side + 1):
                    fwd, lateral = ahead - row, col - side
                    r = sim.pos[b, i, 0] + fwd * f[0] + lateral * rt[0]
                    c = sim.pos[b, i, 1] + fwd * f[1] + lateral * rt[1]
                    inside = 0 <= r < walls.shape[0] and 0 <= c < walls.shape[1]
                    wall = not inside or walls[r, c]
                    apple = inside and apples[b, r, c]
                    other = inside and any(
                        j != i and not sim.removed[b, j] and tuple(sim.pos[b, j]) == (r, c) for j in range(7)
                    )
                    assert tuple(obs[b, i, :, row, col]) == (wall, apple, other), (b, i, row, col)


def test_perolat_metrics_on_a_scripted_episode():
    sim = _sim(num_agents=2, ascii_map=ROOM, regrowth_probs=(0, 0, 0, 0), horizon=6, zap_timeout=2)
    _place(sim, [[[3, 3], [4, 6]]], [[SOUTH, WEST]])
    script = [
        [FORWARD_MOVE, NOOP],  # t=1: player 0 eats the apple at (4, 3)
        [TURN_LEFT, ZAP],  # t=2: beam (4, 5), (4, 4), (4, 3) hits player 0: out for 2 steps
        [NOOP, BACKWARD],  # t=3: player 0 out; player 1 (facing west) steps back to (4, 7)
        [NOOP, TURN_RIGHT],  # t=4: player 0 respawns at the end of this step
        [NOOP, NOOP],
        [NOOP, NOOP],
    ]
    for actions in script:
        step = sim.step(np.array([actions]))
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    # player 0 ate once (t=1), player 1 never: R = (1, 0)
    assert m["efficiency"] == pytest.approx(1 / 6)
    assert m["equality"] == pytest.approx(1 - 2 * 1 / (2 * 2 * 1))
    assert m["gini"] == pytest.approx(0.5)
    assert m["sustainability"] == pytest.approx((1 + 0) / 2)
    assert m["peace"] == pytest.approx((2 * 6 - 2) / 6)


def test_bad_parameters_name_the_env():
    with pytest.raises(RewardlabError, match="CommonsHarvest-v0.*map_name"):
        rewardlab.make_sim(ENV_ID, map_name="forest")
    with pytest.raises(RewardlabError, match="CommonsHarvest-v0.*spawn points"):
        rewardlab.make_sim(ENV_ID, num_agents=4, ascii_map=ROOM)
    with pytest.raises(RewardlabError, match="CommonsHarvest-v0.*regrowth_probs"):
        rewardlab.make_sim(ENV_ID, regrowth_probs=(0.0, 2.0, 0.0, 0.0))


def test_random_episode_end_after_the_horizon():
    num_envs = 600
    sim = _sim(
        num_envs, num_agents=2, ascii_map=ROOM, horizon=10, end_probability=0.5, end_check_every=5, max_horizon=30
    )
    length = np.zeros(num_envs)
    noop = np.zeros((num_envs, 2), dtype=np.int64)
    for t in range(1, 31):
        step = sim.step(noop)
        length[(length == 0) & step.truncated] = t
    assert set(np.unique(length)) <= {10, 15, 20, 25, 30}
    # P(end at 10) = 0.5, P(end at 15) = 0.25; 30 is the cap (probability 1/16)
    for value, prob in ((10, 0.5), (15, 0.25), (30, 1 / 16)):
        share = np.mean(length == value)
        assert abs(share - prob) < 4.5 * np.sqrt(prob * (1 - prob) / num_envs), (value, share)
