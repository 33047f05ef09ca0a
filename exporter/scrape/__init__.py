"""exporter/scrape"""
