"""An extract → transform → load pipeline for xrsched; see README.rst."""
