"""The category hub role (spec section 14): configuration and announcements, endorsement standing,
the verified hub directory, moderation labels and inclusion receipts.

Imports kinode's core, protocol and storage only; its HTTP face is
kinode.federation.hub_routes and its CLI kinode.cli.hub_commands.
"""
