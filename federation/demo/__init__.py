"""The demo federation: its config (`federation.yaml`) and, run as `python -m federation.demo`, the demo."""

from pathlib import Path

DEMO_CONFIG = Path(__file__).with_name("federation.yaml")
