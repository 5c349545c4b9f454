"""Access logs never carry a magic-link token."""
from __future__ import annotations

import logging

import pytest
from flask import Flask


@pytest.mark.parametrize("prefix", ["/d/", "/konto/login/", "/export/"])
@pytest.mark.parametrize("logger_name", ["werkzeug", "gunicorn.access"])
def test_access_log_lines_hide_link_tokens(app: Flask, caplog: pytest.LogCaptureFixture, logger_name: str,
                                           prefix: str) -> None:
    token = "Zq3v0pW9x_kL-7secrettoken"
    logger = logging.getLogger(logger_name)
    with caplog.at_level(logging.INFO, logger=logger_name):
        logger.info('%s - - "%s" %s', "127.0.0.1", f"POST {prefix}{token} HTTP/1.1", 200)
        logger.info('%(h)s "%(r)s" %(s)s', {"h": "127.0.0.1", "r": f"GET {prefix}{token} HTTP/1.1", "s": "200"})
    assert len(caplog.records) == 2
    assert token not in caplog.text
    assert f"{prefix}[redacted]" in caplog.text
