"""Demo estate data."""
