"""providers azure package."""
