"""emulators package."""
