"""kinode's storage layer."""
