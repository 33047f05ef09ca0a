// trunk-capacity-exporter monitoring mixin: Prometheus recording rules (prometheusRules),
// alerts (prometheusAlerts) and Grafana dashboards (grafanaDashboards), configured by _config.
// scripts/generate_mixin.py renders it into the files the repository ships.
(import 'config.libsonnet')
+ (import 'rules.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
