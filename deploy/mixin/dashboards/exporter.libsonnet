// Panels carried over from the hand-written dashboard (see dashboards.libsonnet for the rest).
// `s` holds the selectors of the dashboard's variables, `c` the mixin's _config.
local g = import '../lib/grafana.libsonnet';

{
  panels(c, s):: [
    g.row(1, 'Up', 0),
    g.panel(
      2, 'stat', 'Targets up',
      'odin_up and didww_up per target: 1 when the last collection of the target succeeded.',
      { x: 0, y: 1, w: 12, h: 5 },
      [
        g.target('A', 'odin_up{%(target)s}' % s, legend='{{target}}', instant=true),
        g.target('B', 'didww_up{%(target)s}' % s, legend='{{target}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { text: 'DOWN', color: 'red', index: 0 },
                  '1': { text: 'UP', color: 'green', index: 1 },
                },
              },
            ],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            color: { mode: 'thresholds' },
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          textMode: 'value_and_name',
        },
      },
    ),
    g.panel(
      3, 'state-timeline', 'Service provider reports',
      'odin_service_provider_up over time: whether each service provider\'s trunk call capacity report was read.',
      { x: 12, y: 1, w: 12, h: 5 },
      [
        g.target('A', 'odin_service_provider_up{%(target)s}' % s, legend='{{target}} {{service_provider}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  '0': { text: 'failing', color: 'red', index: 0 },
                  '1': { text: 'ok', color: 'green', index: 1 },
                },
              },
            ],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            color: { mode: 'thresholds' },
          },
          overrides: [],
        },
        options: { showValue: 'never', mergeValues: true, rowHeight: 0.8, legend: { showLegend: false } },
      },
    ),
    g.row(4, 'Timing', 6),
    g.panel(
      5, 'timeseries', 'Collection duration vs. scrape timeout',
      'How long each target\'s collection took, Prometheus\' whole scrape, and the scrape timeout (dashed; scrape_timeout_seconds when Prometheus runs with --enable-feature=extra-scrape-metrics, else the \'Scrape timeout\' variable, whose default is _config.scrapeTimeoutSeconds: the scrape_timeout the docs configure). The exporter stops collecting just before the timeout.',
      { x: 0, y: 7, w: 12, h: 8 },
      [
        g.target('A', 'trunk_capacity_exporter_collect_duration_seconds{%(target)s}' % s, legend='{{target}} collection'),
        g.target('B', 'scrape_duration_seconds{%(job)s}' % s, legend='{{instance}} scrape'),
        g.target('C', 'scrape_timeout_seconds{%(job)s} or (0 * scrape_duration_seconds{%(job)s} + $scrape_timeout)' % s, legend='{{instance}} scrape timeout'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 's',
            min: 0,
            custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'C' },
              properties: [
                { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
                { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
              ],
            },
          ],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),
    g.panel(
      6, 'timeseries', 'Data age',
      'Age of the data served per target: 0 when fetched for the scrape, growing while cached (min_interval) or while the upstream fails (alert TrunkCapacityDataStale above _config.staleDataSeconds).',
      { x: 12, y: 7, w: 12, h: 8 },
      [
        g.target('A', 'trunk_capacity_exporter_data_age_seconds{%(target)s}' % s, legend='{{target}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 's',
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: c.staleDataSeconds }],
            },
            color: { mode: 'thresholds' },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              thresholdsStyle: { mode: 'line' },
            },
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),
    g.row(7, 'Upstream requests', 15),
    g.panel(
      8, 'timeseries', 'Upstream requests by endpoint and code',
      'Requests per second to Odin and DIDWW by endpoint (path template) and status code or error class (timeout, connection...).',
      { x: 0, y: 16, w: 12, h: 9 },
      [
        g.target('A', 'sum by (target, endpoint, code) (rate(trunk_capacity_exporter_upstream_requests_total{%(target)s}[$__rate_interval]))' % s, legend='{{target}} {{endpoint}} {{code}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 'reqps',
            min: 0,
            custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never' },
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),
    g.panel(
      9, 'timeseries', 'Upstream latency by endpoint',
      'Median and 95th percentile of upstream request duration per endpoint.',
      { x: 12, y: 16, w: 12, h: 9 },
      [
        g.target('A', 'histogram_quantile(0.5, sum by (target, endpoint, le) (rate(trunk_capacity_exporter_upstream_request_duration_seconds_bucket{%(target)s}[$__rate_interval])))' % s, legend='{{target}} {{endpoint}} p50'),
        g.target('B', 'histogram_quantile(0.95, sum by (target, endpoint, le) (rate(trunk_capacity_exporter_upstream_request_duration_seconds_bucket{%(target)s}[$__rate_interval])))' % s, legend='{{target}} {{endpoint}} p95'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 's',
            min: 0,
            custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }],
            },
          ],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),
    g.panel(
      10, 'timeseries', 'Collection errors by reason',
      'Collection errors per target and reason (timeout, connection, auth, rate_limited, http_error, invalid_response, internal), counted per rate interval.',
      { x: 0, y: 25, w: 12, h: 9 },
      [
        g.target('A', 'sum by (target, reason) (increase(trunk_capacity_exporter_collect_errors_total{%(target)s}[$__rate_interval]))' % s, legend='{{target}} {{reason}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 'short',
            min: 0,
            custom: {
              drawStyle: 'bars',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              stacking: { mode: 'normal', group: 'A' },
            },
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),
    g.panel(
      11, 'stat', 'Last successful collection',
      'Time since each target last collected completely (every call succeeded).',
      { x: 12, y: 25, w: 12, h: 9 },
      [
        g.target('A', 'time() - trunk_capacity_exporter_last_success_timestamp_seconds{%(target)s}' % s, legend='{{target}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 's',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: c.staleDataSeconds / 3 },
                { color: 'red', value: c.staleDataSeconds },
              ],
            },
            color: { mode: 'thresholds' },
          },
          overrides: [],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          textMode: 'value_and_name',
        },
      },
    ),
    g.row(12, 'Exporter', 34),
    g.panel(
      13, 'stat', 'Config reload',
      'Whether the last configuration reload succeeded (alert TrunkCapacityConfigReloadFailed), and how long ago the last successful one was.',
      { x: 0, y: 35, w: 12, h: 5 },
      [
        g.target('A', 'trunk_capacity_exporter_config_last_reload_successful{%(job)s}' % s, legend='{{instance}} last reload', instant=true),
        g.target('B', 'time() - trunk_capacity_exporter_config_last_reload_success_timestamp_seconds{%(job)s}' % s, legend='{{instance}} since last good reload', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            color: { mode: 'thresholds' },
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'A' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': { text: 'FAILED', color: 'red', index: 0 },
                        '1': { text: 'OK', color: 'green', index: 1 },
                      },
                    },
                  ],
                },
                { id: 'color', value: { mode: 'thresholds' } },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
                  },
                },
              ],
            },
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [{ id: 'unit', value: 's' }],
            },
          ],
        },
        options: {
          colorMode: 'background',
          graphMode: 'none',
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          textMode: 'value_and_name',
        },
      },
    ),
    g.panel(
      14, 'table', 'Exporter build',
      'Version of each exporter instance and the Python running it.',
      { x: 12, y: 35, w: 12, h: 5 },
      [
        g.target('A', 'trunk_capacity_exporter_build_info{%(job)s}' % s, instant=true, format='table'),
      ],
      {
        fieldConfig: { defaults: { mappings: [], custom: { align: 'auto' } }, overrides: [] },
        options: { showHeader: true },
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, Value: true },
              renameByName: {},
              indexByName: {},
            },
          },
        ],
      },
    ),
  ],
  meta:: {
    uid: 'tce-exporter',
    title: 'Trunk capacity exporter health',
    description: 'Is trunk-capacity-exporter collecting? Targets and service providers up, collection time against the scrape timeout, upstream requests, errors, data age, config reloads.',
  },
}
