"""The case-study rubric and the `rewardlab validate` command."""

from __future__ import annotations

import pytest

from rewardlab.cli import main
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.case_studies import CASES, validate


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_scores_six_criteria_out_of_60(case):
    criteria = validate(case)
    assert len(criteria) == 6 and sum(c.points for c in criteria) == 60
    assert all(0.0 <= c.score <= c.points and c.detail for c in criteria)
    assert sum(c.score for c in criteria) >= 50  # the calibrated environments reproduce their cases


def test_a_miscalibrated_environment_scores_lower():
    """Swapping who depends on whom breaks the dependence and distribution criteria."""
    calibrated = {c.key: c.score for c in validate("SLCD")}
    swapped = {c.key: c.score for c in validate("SLCD", interdependence=((0.0, 0.86), (0.64, 0.0)))}
    assert calibrated["S3"] == 10 and swapped["S3"] == 0
    flat = {c.key: c.score for c in validate("RenaultNissan", interdependence_phases=((((0.0, 0.5), (0.5, 0.0))),) * 4)}
    assert flat["R3"] == 0 and sum(flat.values()) < 60


def test_validate_command_prints_the_table(capsys):
    assert main(["validate", "renaultnissan", "--plain"]) == 0  # case-insensitive
    out = capsys.readouterr().out
    for key in ("R1", "R2", "R3", "R4", "R5", "R6"):
        assert f"RenaultNissan  {key}" in out
    assert "/ 60" in out


def test_validate_unknown_case_is_an_error(capsys):
    assert main(["validate", "Enron"]) == 2
    assert "unknown case study 'Enron'" in capsys.readouterr().err
    with pytest.raises(RewardlabError, match="expected one of"):
        validate("Enron")
