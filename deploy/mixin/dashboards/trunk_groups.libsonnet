// Panels carried over from the hand-written dashboard (see dashboards.libsonnet for the rest).
// `s` holds the selectors of the dashboard's variables, `c` the mixin's _config.
local g = import '../lib/grafana.libsonnet';

{
  panels(c, s):: [
    g.row(1, 'At a glance', 0),
    g.panel(
      2, 'stat', 'Active calls',
      'Live calls (incoming + outgoing) of the selected trunk groups.',
      { x: 0, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'sum(target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s})' % s, legend='active calls', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
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
      3, 'stat', 'Trunk groups near or at their limit',
      'Trunk groups whose peak live calls over the saturation window (%s) reached the warning fraction of their effective limit (alert TrunkCapacityTrunkGroupSaturated).' % c.saturationWindow,
      { x: 6, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(target_service_provider_group_trunk_group:odin_trunk_group_peak_utilisation:ratio{%(tg)s} >= on (target, service_provider) group_left () target_service_provider:odin_utilisation_warning:threshold) or vector(0)' % s, legend='trunk groups', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
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
      4, 'stat', 'Trunk groups bursting',
      'Trunk groups carrying more calls than maxActiveCalls right now: bursting, within their effective limit.',
      { x: 12, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(target_service_provider_group_trunk_group:odin_trunk_group_utilisation:ratio{%(tg)s} > 1) or vector(0)' % s, legend='trunk groups', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
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
      5, 'stat', 'Trunk groups not Available',
      'Trunk groups whose trunkGroupState is anything but Available.',
      { x: 18, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(odin_trunk_group_info{%(tg)s, state!="Available"}) or vector(0)' % s, legend='trunk groups', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }],
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
    g.row(6, 'Calls against limits', 5),
    g.panel(
      7, 'timeseries', 'Active calls vs. maxActiveCalls',
      'Live incoming and outgoing calls per trunk group (solid) and the trunk group\'s maxActiveCalls (dashed). Unlimited trunk groups have no limit line.',
      { x: 0, y: 6, w: 24, h: 10 },
      [
        g.target('A', 'odin_trunk_group_active_calls{%(tg)s}' % s, legend='{{service_provider}} / {{trunk_group}} {{direction}}'),
        g.target('B', 'odin_trunk_group_max_active_calls{%(tg)s} < +Inf' % s, legend='{{service_provider}} / {{trunk_group}} maxActiveCalls'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
                  '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
                },
              },
            ],
            unit: 'short',
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
      8, 'timeseries', 'Utilisation of the effective limit by trunk group',
      'Live calls / the effective limit (maxActiveCalls + burstingMaxActiveCalls when bursting is on), the limit the alerts use: at 100 %% calls are refused. Orange from the warning fraction (_config.saturationWarningRatio, %d %%; per-service-provider overrides are in the recorded target_service_provider:odin_utilisation_warning:threshold).' % (c.saturationWarningRatio * 100),
      { x: 0, y: 16, w: 12, h: 9 },
      [
        g.target('A', '(target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s} / target_service_provider_group_trunk_group:odin_trunk_group_effective_max_active_calls:sum{%(tg)s})' % s, legend='{{service_provider}} / {{group}} / {{trunk_group}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: g.unlimitedMappings,
            unit: 'percentunit',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: c.saturationWarningRatio },
                { color: 'red', value: 1 },
              ],
            },
            color: { mode: 'thresholds' },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              thresholdsStyle: { mode: 'line+area' },
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
      9, 'heatmap', 'Utilisation heat map',
      'How many trunk groups sit at each share of their effective limit, over time (10 % buckets). A band moving up is growing traffic; a cell at 100 % is refusing calls.',
      { x: 12, y: 16, w: 12, h: 9 },
      [
        g.target('A', '(target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s} / target_service_provider_group_trunk_group:odin_trunk_group_effective_max_active_calls:sum{%(tg)s})' % s, legend='{{service_provider}} / {{trunk_group}}'),
      ],
      {
        fieldConfig: { defaults: { mappings: g.unlimitedMappings }, overrides: [] },
        options: {
          calculate: true,
          calculation: { yBuckets: { mode: 'size', value: '0.1', scale: { type: 'linear' } } },
          cellGap: 1,
          color: { mode: 'scheme', scheme: 'Oranges', steps: 64, fill: 'dark-orange' },
          yAxis: { axisPlacement: 'left', unit: 'percentunit' },
          tooltip: { mode: 'single', yHistogram: false },
          legend: { show: true },
          cellValues: { unit: 'short' },
          rowsFrame: { layout: 'auto' },
        },
      },
    ),
    g.panel(
      10, 'bargauge', 'Top $topn busiest trunk groups',
      'The trunk groups with the highest live calls / effective limit now (orange from the warning fraction, red at the limit).',
      { x: 0, y: 25, w: 12, h: 9 },
      [
        g.target('A', 'topk($topn, (target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s} / target_service_provider_group_trunk_group:odin_trunk_group_effective_max_active_calls:sum{%(tg)s}))' % s, legend='{{service_provider}} / {{group}} / {{trunk_group}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: g.unlimitedMappings,
            unit: 'percentunit',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: c.saturationWarningRatio },
                { color: 'red', value: 1 },
              ],
            },
            color: { mode: 'thresholds' },
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          displayMode: 'gradient',
          orientation: 'horizontal',
          showUnfilled: true,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
      },
    ),
    g.panel(
      11, 'bargauge', 'Top $topn trunk groups by active calls',
      'The trunk groups carrying the most live calls now.',
      { x: 12, y: 25, w: 12, h: 9 },
      [
        g.target('A', 'topk($topn, target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s})' % s, legend='{{service_provider}} / {{group}} / {{trunk_group}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 'short',
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            color: { mode: 'thresholds' },
            min: 0,
          },
          overrides: [],
        },
        options: {
          displayMode: 'gradient',
          orientation: 'horizontal',
          showUnfilled: true,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
      },
    ),
    g.row(12, 'Bursting', 34),
    g.panel(
      13, 'bargauge', 'Bursting headroom',
      'Calls a trunk group can still take before calls are refused: maxActiveCalls + burstingMaxActiveCalls - live calls (bursting is 0 when disabled). Unlimited trunk groups show Unlimited.',
      { x: 0, y: 35, w: 12, h: 9 },
      [
        g.target('A', 'odin_trunk_group_max_active_calls{%(tg)s} + odin_trunk_group_bursting_max_active_calls{%(tg)s} - target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s}' % s, legend='{{service_provider}} / {{group}} / {{trunk_group}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
                  '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
                },
              },
            ],
            unit: 'short',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'red', value: null },
                { color: 'orange', value: 1 },
                { color: 'green', value: 5 },
              ],
            },
            color: { mode: 'thresholds' },
          },
          overrides: [],
        },
        options: {
          displayMode: 'basic',
          orientation: 'horizontal',
          showUnfilled: true,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
      },
    ),
    g.panel(
      14, 'timeseries', 'Calls above maxActiveCalls (bursting)',
      'Live calls beyond maxActiveCalls, carried by bursting capacity. 0 when not bursting.',
      { x: 12, y: 35, w: 12, h: 9 },
      [
        g.target('A', 'clamp_min(target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s} - odin_trunk_group_max_active_calls{%(tg)s}, 0)' % s, legend='{{service_provider}} / {{group}} / {{trunk_group}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
                  '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
                },
              },
            ],
            unit: 'short',
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
    g.row(15, 'Service providers and directions', 44),
    g.panel(
      16, 'timeseries', 'Service provider calls vs. cap',
      'Live calls of all read trunk groups of each service provider against the service provider\'s maxActiveCalls (dashed; unlimited caps are not drawn).',
      { x: 0, y: 45, w: 12, h: 9 },
      [
        g.target('A', 'target_service_provider:odin_trunk_group_active_calls:sum{%(sp)s}' % s, legend='{{service_provider}} active'),
        g.target('B', 'odin_service_provider_max_active_calls{%(sp)s} < +Inf' % s, legend='{{service_provider}} cap'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
                  '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
                },
              },
            ],
            unit: 'short',
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
      17, 'timeseries', 'Incoming vs. outgoing calls',
      'Live calls of the selected trunk groups by direction. A sudden outgoing rise nobody expects can be toll fraud.',
      { x: 12, y: 45, w: 12, h: 9 },
      [
        g.target('A', 'sum by (direction) (odin_trunk_group_active_calls{%(tg)s})' % s, legend='{{direction}}'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 'short',
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 20,
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
    g.row(18, 'Trunk groups', 54),
    g.panel(
      19, 'table', 'Trunk groups',
      'Every selected trunk group with its limits, live calls and state. maxIncomingCalls and maxOutgoingCalls are optional in Odin: empty when the trunk group has none.',
      { x: 0, y: 55, w: 24, h: 10 },
      [
        g.target('A', 'odin_trunk_group_max_active_calls{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
        g.target('B', 'target_service_provider_group_trunk_group:odin_trunk_group_active_calls:sum{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
        g.target('C', 'target_service_provider_group_trunk_group:odin_trunk_group_utilisation:ratio{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
        g.target('D', 'odin_trunk_group_bursting_max_active_calls{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
        g.target('E', 'odin_trunk_group_max_incoming_calls{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
        g.target('F', 'odin_trunk_group_max_outgoing_calls{%(tg)s} * on (target, service_provider, group, trunk_group) group_left (state) max without (job, instance) (odin_trunk_group_info{%(tg)s})' % s, instant=true, format='table'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [
              {
                type: 'value',
                options: {
                  Infinity: { text: 'Unlimited', color: 'blue', index: 0 },
                  '+Inf': { text: 'Unlimited', color: 'blue', index: 1 },
                },
              },
              { type: 'special', options: { match: 'nan', result: { text: 'n/a', index: 2 } } },
            ],
            custom: { align: 'auto', filterable: true },
          },
          overrides: [
            {
              matcher: { id: 'byName', options: 'Utilisation' },
              properties: [
                { id: 'unit', value: 'percentunit' },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      { color: 'green', value: null },
                      { color: 'orange', value: 0.8 },
                      { color: 'red', value: 0.95 },
                    ],
                  },
                },
              ],
            },
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: 'Utilisation', desc: true }] },
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, job: true, instance: true },
              renameByName: {
                target: 'Odin',
                service_provider: 'Service provider',
                group: 'Group',
                trunk_group: 'Trunk group',
                state: 'State',
                'Value #A': 'maxActiveCalls',
                'Value #B': 'Active calls',
                'Value #C': 'Utilisation',
                'Value #D': 'Bursting max',
                'Value #E': 'maxIncomingCalls',
                'Value #F': 'maxOutgoingCalls',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
  ],
  meta:: {
    uid: 'tce-trunk-groups',
    title: 'Trunk group live usage',
    description: 'Live active calls per Odin trunk group (targets with trunk_groups: true) against maxActiveCalls, utilisation, busiest trunk groups and bursting headroom.',
  },
}
