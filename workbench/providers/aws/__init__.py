"""providers aws package."""
