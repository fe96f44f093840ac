"""The test suite: `tests/<package>/` mirrors the packages; the modules here are shared
fixtures and helpers."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project's root folder."""
