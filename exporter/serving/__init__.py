"""exporter/serving"""
