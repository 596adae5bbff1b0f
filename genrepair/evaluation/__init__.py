"""Evaluation: ``genrepair eval TASK`` prints a table per task (never imported by the app)."""
