"""The repository's root, wherever the test file that needs it lives."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
