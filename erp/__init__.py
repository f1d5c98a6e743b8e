"""Archibald automation: page objects driving the ERP (or erpsim) through a pyppeteer page."""
