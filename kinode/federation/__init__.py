"""The federation transport: the HTTP server and client, gossip, set reconciliation,
request signatures, the SSRF guard and LAN discovery.

It speaks for a `kinode.node.Node` (and the work service above it) over HTTP;
it imports the core modules of `kinode`, never the CLI.
"""
