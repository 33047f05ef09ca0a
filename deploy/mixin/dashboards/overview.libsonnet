// Panels carried over from the hand-written dashboard (see dashboards.libsonnet for the rest).
// `s` holds the selectors of the dashboard's variables, `c` the mixin's _config.
local g = import '../lib/grafana.libsonnet';

{
  panels(c, s):: [
    g.row(1, 'At a glance', 0),
    g.panel(
      2, 'stat', 'Service provider reports',
      'Service providers whose trunk call capacity report was read at the last scrape, of all configured.',
      { x: 0, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'sum(odin_service_provider_up{%(sp)s})' % s, legend='reporting', instant=true),
        g.target('B', 'count(odin_service_provider_up{%(sp)s})' % s, legend='configured', instant=true),
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
      3, 'stat', 'Oversubscribed service providers',
      'Service providers whose groups are allocated more maxActiveCalls in total than the service provider\'s cap (alert TrunkCapacityServiceProviderOversubscribed).',
      { x: 6, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(target_service_provider:odin_service_provider_oversubscription:ratio{%(sp)s} > 1) or vector(0)' % s, legend='oversubscribed', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
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
      4, 'stat', 'Groups allocated beyond available',
      'Groups whose maxActiveCalls is above their maxAvailableActiveCalls (alert TrunkCapacityGroupAllocationAboveAvailable).',
      { x: 12, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(target_service_provider_group:odin_group_allocation:ratio{%(group)s} > 1) or vector(0)' % s, legend='groups', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
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
      5, 'stat', 'Groups out of Trunk Group licences',
      'Groups using every Trunk Group service licence they are authorised (alert TrunkCapacityTrunkGroupLicencesExhausted).',
      { x: 18, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'count(target_service_provider_group:odin_group_trunk_group_licence_usage:ratio{%(group)s} >= 1) or vector(0)' % s, legend='groups', instant=true),
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
    g.row(6, 'Service providers', 5),
    g.panel(
      7, 'table', 'Service providers',
      'Per service provider: the cap (maxActiveCalls), the sum of its groups\' allocations and their ratio. Above 100 % the groups can together ask for more calls than the cap allows. Unlimited caps show as Unlimited; their ratio is 0 % (n/a when both sides are unlimited).',
      { x: 0, y: 6, w: 24, h: 8 },
      [
        g.target('A', 'odin_service_provider_max_active_calls{%(sp)s}' % s, instant=true, format='table'),
        g.target('B', 'target_service_provider:odin_group_max_active_calls:sum{%(sp)s}' % s, instant=true, format='table'),
        g.target('C', 'target_service_provider:odin_service_provider_oversubscription:ratio{%(sp)s}' % s, instant=true, format='table'),
        g.target('D', 'odin_service_provider_bursting_max_active_calls{%(sp)s}' % s, instant=true, format='table'),
        g.target('E', 'odin_service_provider_up{%(sp)s}' % s, instant=true, format='table'),
        g.target('F', 'odin_service_provider_trunking_enabled{%(sp)s}' % s, instant=true, format='table'),
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
              matcher: { id: 'byName', options: 'Allocated / cap' },
              properties: [
                { id: 'unit', value: 'percentunit' },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      { color: 'green', value: null },
                      { color: 'orange', value: 0.9 },
                      { color: 'red', value: 1.0001 },
                    ],
                  },
                },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Report OK' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': { text: 'failing', color: 'red', index: 0 },
                        '1': { text: 'ok', color: 'green', index: 1 },
                      },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              // No Trunk Group service is a standing fact, not a failure: no alert fires on it.
              matcher: { id: 'byName', options: 'Trunking' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': { text: 'no Trunk Group service', color: 'text', index: 0 },
                        '1': { text: 'yes', color: 'green', index: 1 },
                      },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: 'Allocated / cap', desc: true }] },
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, job: true, instance: true },
              renameByName: {
                target: 'Odin',
                service_provider: 'Service provider',
                'Value #A': 'Cap (maxActiveCalls)',
                'Value #B': 'Allocated to groups',
                'Value #C': 'Allocated / cap',
                'Value #D': 'Bursting cap',
                'Value #E': 'Report OK',
                'Value #F': 'Trunking',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
    g.panel(
      8, 'bargauge', 'Oversubscription ratio',
      'Sum of the groups\' maxActiveCalls / the service provider\'s maxActiveCalls. Above 100 %: oversubscribed. Unlimited: a group with unlimited maxActiveCalls under a finite cap.',
      { x: 0, y: 14, w: 12, h: 8 },
      [
        g.target('A', 'target_service_provider:odin_service_provider_oversubscription:ratio{%(sp)s}' % s, legend='{{service_provider}} ({{target}})', instant=true),
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
            unit: 'percentunit',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: 0.9 },
                { color: 'red', value: 1.0001 },
              ],
            },
            color: { mode: 'thresholds' },
            min: 0,
            max: 2,
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
      9, 'timeseries', 'Service provider cap vs. allocated',
      'Each service provider\'s cap against the sum of its groups\' allocations over time. Unlimited caps are not drawn (they have no line to draw).',
      { x: 12, y: 14, w: 12, h: 8 },
      [
        g.target('A', 'odin_service_provider_max_active_calls{%(sp)s} < +Inf' % s, legend='{{service_provider}} cap'),
        g.target('B', 'target_service_provider:odin_group_max_active_calls:sum{%(sp)s} < +Inf' % s, legend='{{service_provider}} allocated'),
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
              matcher: { id: 'byFrameRefID', options: 'A' },
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
    g.row(10, 'Groups', 22),
    g.panel(
      11, 'table', 'Groups by allocation',
      'Every group with its allocation (maxActiveCalls), the most it may be given (maxAvailableActiveCalls) and their ratio: above 100 % the group is allocated beyond what is available. Click a column header to sort.',
      { x: 0, y: 23, w: 24, h: 10 },
      [
        g.target('A', 'odin_group_max_active_calls{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('B', 'odin_group_max_available_active_calls{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('C', 'target_service_provider_group:odin_group_allocation:ratio{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('D', 'odin_group_bursting_max_active_calls{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('E', 'odin_group_bursting_max_available_active_calls{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('F', 'odin_group_user_limit{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
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
              matcher: { id: 'byName', options: 'Allocated / available' },
              properties: [
                { id: 'unit', value: 'percentunit' },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [{ color: 'green', value: null }, { color: 'red', value: 1.0001 }],
                  },
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          sortBy: [{ displayName: 'Allocated (maxActiveCalls)', desc: true }],
        },
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
                group_name: 'Group name',
                'Value #A': 'Allocated (maxActiveCalls)',
                'Value #B': 'Available (maxAvailableActiveCalls)',
                'Value #C': 'Allocated / available',
                'Value #D': 'Bursting allocated',
                'Value #E': 'Bursting available',
                'Value #F': 'User limit',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
    g.panel(
      12, 'table', 'Trunk Group licences',
      'The Trunk Group service of each group: licences in use against the authorised quantity. A group at 100 % cannot get another trunk group.',
      { x: 0, y: 33, w: 14, h: 10 },
      [
        g.target('A', 'odin_group_trunk_group_service_usage{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('B', 'odin_group_trunk_group_service_quantity{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('C', 'target_service_provider_group:odin_group_trunk_group_licence_usage:ratio{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
        g.target('D', 'odin_group_trunk_group_service_authorized{%(group)s} * on (target, service_provider, group) group_left (group_name) max without (job, instance) (odin_group_info{%(group)s})' % s, instant=true, format='table'),
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
              matcher: { id: 'byName', options: 'Used / quantity' },
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
                      { color: 'red', value: 1 },
                    ],
                  },
                },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Authorised' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { '0': { text: 'no', index: 0 }, '1': { text: 'yes', index: 1 } },
                    },
                  ],
                },
              ],
            },
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: 'Used / quantity', desc: true }] },
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
                group_name: 'Group name',
                'Value #A': 'In use',
                'Value #B': 'Quantity',
                'Value #C': 'Used / quantity',
                'Value #D': 'Authorised',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
    g.panel(
      13, 'bargauge', 'Trunk Group licence usage',
      'Trunk Group service licences in use / authorised quantity, per group. Unlimited quantities are 0 %.',
      { x: 14, y: 33, w: 10, h: 10 },
      [
        g.target('A', 'target_service_provider_group:odin_group_trunk_group_licence_usage:ratio{%(group)s}' % s, legend='{{group}} ({{service_provider}})', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [{ type: 'special', options: { match: 'nan', result: { text: 'n/a', index: 2 } } }],
            unit: 'percentunit',
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: 0.8 },
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
    g.row(14, 'Alerts', 43),
    g.panel(
      15, 'table', 'TrunkCapacity alerts',
      'Alerts of the shipped rules that are pending or firing now, from Prometheus\' ALERTS series.',
      { x: 0, y: 44, w: 24, h: 8 },
      [
        g.target('A', 'ALERTS{alertname=~"TrunkCapacity.*", %(group)s}' % s, instant=true, format='table'),
      ],
      {
        fieldConfig: {
          defaults: { mappings: [], custom: { align: 'auto', filterable: true } },
          overrides: [],
        },
        options: { showHeader: true, sortBy: [{ displayName: 'severity', desc: false }] },
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
    uid: 'tce-overview',
    title: 'Trunk capacity overview',
    description: 'Odin trunk call capacity per service provider and group: caps, allocations, oversubscription and Trunk Group licences. Unlimited (+Inf) values show as Unlimited.',
  },
}
