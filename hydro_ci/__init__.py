"""hydro-ci: an ML model folder to a versioned, pushed container image, as reproducible CI steps."""

__version__ = "0.1.0"
