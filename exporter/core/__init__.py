"""exporter/core"""
