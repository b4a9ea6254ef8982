"""A search run in a child process with the stand-in race, for the kill test:
python -m tests.search._child SEARCH.toml OUT FLUSH_EVERY"""

from __future__ import annotations

import sys

from sim.experiment.search import load_search, run_search
from tests.search import standin_racing

if __name__ == "__main__":
    path, out, flush = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run_search(load_search(path), out, workers=1, quiet=True, racing=standin_racing, flush_every=flush)
