"""A package, for dotted target modules."""
