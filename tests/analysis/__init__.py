"""Tests of the analysis package.

Under pytest this folder is imported as the package `analysis` (tests/ is on sys.path and has
no __init__.py), and the editable install maps `analysis.<module>` to the checkout it was
installed from, which need not be this tree. Putting this tree's analysis/ first on the
package's path makes `analysis.summary` and friends this tree's modules."""

from pathlib import Path

__path__.insert(0, str(Path(__file__).resolve().parents[2] / "analysis"))
