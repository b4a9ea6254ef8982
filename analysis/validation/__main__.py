"""python -m analysis.validation [--fast]: see analysis/validation/__init__.py."""

from analysis.validation.cli import main

raise SystemExit(main())
