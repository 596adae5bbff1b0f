"""Training code (never imported by the app). Run as ``python -m genrepair.training.<task>``."""
