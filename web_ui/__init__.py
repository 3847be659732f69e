"""kinode's web_ui layer."""
