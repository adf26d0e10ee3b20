"""Tools for l2vkit's own maintainers (not imported by the library)."""
