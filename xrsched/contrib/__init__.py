"""Bridges to other tools. Each module imports its tool lazily: none is a dependency of xrsched."""
