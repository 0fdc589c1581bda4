"""Tools for people moving feeds in: OPML import/export, feed discovery, probing a URL."""
