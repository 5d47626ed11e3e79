"""providers gcp package."""
