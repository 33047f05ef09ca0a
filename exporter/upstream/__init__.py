"""exporter/upstream"""
