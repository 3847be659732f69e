"""kinode: a federated peer-to-peer node for self-employed people working together."""

__version__ = "0.1.0"
