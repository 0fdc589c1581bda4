"""log_event: logfmt pairs, quoting, and a traceback only when asked."""

import logging

from streams.logs import log_event


def test_log_event_writes_logfmt_and_adds_the_traceback_on_request(caplog) -> None:
    log = logging.getLogger("tests.logs")
    with caplog.at_level(logging.DEBUG, logger="tests.logs"):
        log_event(log, logging.INFO, "feed_polled", feed="x y", items=3, skipped=None)
        try:
            raise ValueError("boom")
        except ValueError:
            log_event(log, logging.ERROR, "feed_poll_crashed", feed="x", exc_info=True)
    first, second = caplog.records
    assert first.getMessage() == 'feed_polled feed="x y" items=3'
    assert not first.exc_info
    assert second.getMessage() == "feed_poll_crashed feed=x"
    assert second.exc_info is not None and second.exc_info[0] is ValueError
