# Two commands on a fresh machine:
#   make run    runs the default study and writes results/default/ (figures, report)
#   make test   runs the test suite
# Both create .venv with Python >= 3.12 first (pyenv's 3.12.x if the default python3 is older).

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup lint clean-venv dashboard

run: $(STAMP)
	$(PY) run_experiments.py

test: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" -q
	$(PY) -m pytest -m slow -q

# The teaching dashboard on http://127.0.0.1:8765 (production mode: no hot reload, which would
# re-import numpy from .venv inside the project folder and fail).
dashboard: $(STAMP)
	$(VENV)/bin/solara run app.py --production --host 127.0.0.1 --port 8765 --no-open

lint: $(STAMP)
	$(VENV)/bin/ruff check .

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/setup-venv
	bash .ci/setup-venv $(VENV)
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
