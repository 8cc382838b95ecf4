"""Thin adapters that put hydro-ci where users already work: nox, GitHub Actions, pre-commit."""
