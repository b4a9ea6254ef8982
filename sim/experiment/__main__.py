"""`python -m sim.experiment run STUDY.toml` / `report RESULTS_DIR`."""

import sys

from sim.experiment.cli import main

sys.exit(main())
