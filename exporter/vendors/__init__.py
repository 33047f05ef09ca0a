"""exporter/vendors"""
