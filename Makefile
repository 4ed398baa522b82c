# The two commands of the README. Each sets up .venv on first use; nothing needs to run before them.
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: study test setup tables clean

# The main job: the quick profile of a reward-ablation study, printing its result table.
study: $(STAMP)
	$(PY) -m rewardlab.cli ablate studies/coopetition_modes.yaml --profile quick --out results/coopetition_modes
	$(PY) -m rewardlab.cli report results/coopetition_modes

# The test suite.
test: $(STAMP)
	MUJOCO_GL=$${MUJOCO_GL:-osmesa} $(PY) -m pytest -q

setup: $(STAMP)

# Regenerate the environment tables in README.md and docs/environments.md from the registry.
tables: $(STAMP)
	$(PY) tools/update_tables.py

# torch is pinned first: an unpinned torch request would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,studies,video]"
	touch $(STAMP)

clean:
	rm -rf .venv results
