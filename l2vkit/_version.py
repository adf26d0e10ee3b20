"""The version of l2vkit (read by the build backend too)."""
__version__ = "0.1.0"
