"""Personal data: masking before anything reaches a log, an error, XCom or a preview; erasure on
request and retention (Law 91/2025/QH15), with keyed pseudonyms and an audit table."""

# Here rather than in ``retention``: the command line names it without loading pandas.
DEFAULT_RETENTION_DAYS = 90
