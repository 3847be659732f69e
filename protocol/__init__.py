"""kinode's protocol core: sans-I/O identity, canonical JSON, signed objects."""
