"""The storage layer's errors.

One root, one-line subclasses, each with a machine-readable `code`::

    StorageError (code)
    ├── SchemaTooNew         schema_too_new      the file was written by a newer kinode
    ├── StoreClosed          store_closed        a write arrived after close()
    ├── UnknownDerived       unknown_derived     rebuild() named a table nobody registered
    ├── NotFound             not_found           an outbox entry or peer that does not exist
    ├── InvalidQuery         invalid_query       a search query that cannot be run (storage.search)
    └── InvalidCursor        invalid_cursor      a search cursor that is malformed or from another query

Objects that the protocol refuses are not storage errors: they come back as
`IngestResult(status="rejected", code=...)` with the protocol's code.
"""


class StorageError(Exception):
    """A storage failure; `code` says which."""

    code = "storage_error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class SchemaTooNew(StorageError):
    code = "schema_too_new"


class StoreClosed(StorageError):
    code = "store_closed"


class UnknownDerived(StorageError):
    code = "unknown_derived"


class NotFound(StorageError):
    code = "not_found"


class InvalidQuery(StorageError):
    code = "invalid_query"


class InvalidCursor(StorageError):
    code = "invalid_cursor"
