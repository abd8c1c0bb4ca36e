"""Personal data: masking before anything reaches a log, an error, XCom or a preview."""
