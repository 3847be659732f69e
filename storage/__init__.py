"""kinode's storage layer: SQLite persistence for objects, outbox, peers and derived state.

Start at `storage.store.Store`; storage/README.md describes the tables and rules.
"""
