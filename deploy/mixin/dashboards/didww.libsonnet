// Panels carried over from the hand-written dashboard (see dashboards.libsonnet for the rest).
// `s` holds the selectors of the dashboard's variables, `c` the mixin's _config.
local g = import '../lib/grafana.libsonnet';

{
  panels(c, s):: [
    g.row(1, 'Account', 0),
    g.panel(
      2, 'stat', 'Balance',
      'DIDWW account balance, in the account\'s currency. Calls stop when it runs out.',
      { x: 0, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'didww_account_balance{%(target)s}' % s, legend='{{target}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            color: { mode: 'thresholds' },
            decimals: 2,
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
      3, 'stat', 'Credit',
      'DIDWW account credit.',
      { x: 6, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'didww_account_credit{%(target)s}' % s, legend='{{target}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            color: { mode: 'thresholds' },
            decimals: 2,
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
      4, 'stat', 'Low-balance threshold',
      'The threshold of alert TrunkCapacityBalanceLow per account: the recording rule target:didww_account_balance:threshold, from the mixin\'s _config (balanceLowThreshold, balanceLowOverrides).',
      { x: 12, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'target:didww_account_balance:threshold{%(target)s}' % s, legend='{{target}} threshold', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] },
            color: { mode: 'thresholds' },
            decimals: 2,
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
      5, 'stat', 'Monthly cost of pools',
      'Sum over the selected pools of channels owned x monthly price per channel.',
      { x: 18, y: 1, w: 6, h: 4 },
      [
        g.target('A', 'sum(didww_capacity_pool_total_channels{%(pool)s} * didww_capacity_pool_monthly_price{%(pool)s})' % s, legend='per month', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] },
            color: { mode: 'thresholds' },
            decimals: 2,
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
      6, 'timeseries', 'Balance and credit',
      'Balance and credit over time, with the low-balance threshold (dashed). The slope tells how long the balance lasts.',
      { x: 0, y: 5, w: 24, h: 8 },
      [
        g.target('A', 'didww_account_balance{%(target)s}' % s, legend='{{target}} balance'),
        g.target('B', 'didww_account_credit{%(target)s}' % s, legend='{{target}} credit'),
        g.target('C', 'target:didww_account_balance:threshold{%(target)s}' % s, legend='{{target}} low-balance threshold'),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            decimals: 2,
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
    g.row(7, 'Capacity pools', 13),
    g.panel(
      8, 'timeseries', 'Pool channels over time',
      'Per pool: channels owned (total), assigned to groups and DIDs, and unassigned. Assigned is an allocation: DIDWW reports no live channel count.',
      { x: 0, y: 14, w: 16, h: 9 },
      [
        g.target('A', 'didww_capacity_pool_total_channels{%(pool)s}' % s, legend='{{target}} / {{pool}} total'),
        g.target('B', 'didww_capacity_pool_assigned_channels{%(pool)s}' % s, legend='{{target}} / {{pool}} assigned'),
        g.target('C', 'didww_capacity_pool_unassigned_channels{%(pool)s}' % s, legend='{{target}} / {{pool}} unassigned'),
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
    g.panel(
      9, 'bargauge', 'Pool utilisation',
      'Assigned / total channels per pool: red from the fraction of alert TrunkCapacityPoolNearExhaustion (_config.poolNearExhaustionRatio, %d %%; per-pool overrides in the recorded target_pool:didww_capacity_pool_utilisation:threshold).' % (c.poolNearExhaustionRatio * 100),
      { x: 16, y: 14, w: 8, h: 9 },
      [
        g.target('A', 'target_pool:didww_capacity_pool_utilisation:ratio{%(pool)s}' % s, legend='{{target}} / {{pool}}', instant=true),
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
                { color: 'orange', value: c.poolNearExhaustionRatio - 0.1 },
                { color: 'red', value: c.poolNearExhaustionRatio },
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
      10, 'bargauge', 'Shared and metered channels by pool',
      'Channels of the shared capacity groups, summed per pool: shared (flat rate, drawn from the pool) and metered (per-minute overflow). An empty pool name: groups without a pool.',
      { x: 0, y: 23, w: 8, h: 9 },
      [
        g.target('A', 'sum by (target, pool) (didww_shared_capacity_group_shared_channels{%(pool)s})' % s, legend='{{target}} / {{pool}} shared', instant=true),
        g.target('B', 'sum by (target, pool) (didww_shared_capacity_group_metered_channels{%(pool)s})' % s, legend='{{target}} / {{pool}} metered', instant=true),
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
          displayMode: 'basic',
          orientation: 'horizontal',
          showUnfilled: true,
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        },
      },
    ),
    g.panel(
      11, 'bargauge', 'Days until renewal',
      'Days until each pool renews and its monthly price is charged (alert TrunkCapacityPoolRenewalDue within %d days, _config.renewalWarningDays).' % c.renewalWarningDays,
      { x: 8, y: 23, w: 8, h: 9 },
      [
        g.target('A', '(didww_capacity_pool_renewal_timestamp_seconds{%(pool)s} - time()) / 86400' % s, legend='{{target}} / {{pool}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            unit: 'd',
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'orange', value: null }, { color: 'green', value: c.renewalWarningDays }],
            },
            color: { mode: 'thresholds' },
            decimals: 1,
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
      12, 'bargauge', 'Monthly cost by pool',
      'Channels owned x monthly price per channel, per pool.',
      { x: 16, y: 23, w: 8, h: 9 },
      [
        g.target('A', 'didww_capacity_pool_total_channels{%(pool)s} * didww_capacity_pool_monthly_price{%(pool)s}' % s, legend='{{target}} / {{pool}}', instant=true),
      ],
      {
        fieldConfig: {
          defaults: {
            mappings: [],
            thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] },
            color: { mode: 'thresholds' },
            decimals: 2,
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
      13, 'table', 'Pools',
      'Every selected capacity pool: channels, order constraints, prices and renewal date.',
      { x: 0, y: 32, w: 24, h: 8 },
      [
        g.target('A', 'didww_capacity_pool_total_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('B', 'didww_capacity_pool_assigned_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('C', 'didww_capacity_pool_unassigned_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('D', 'target_pool:didww_capacity_pool_utilisation:ratio{%(pool)s}' % s, instant=true, format='table'),
        g.target('E', 'didww_capacity_pool_minimum_limit_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('F', 'didww_capacity_pool_minimum_order_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('G', 'didww_capacity_pool_setup_price{%(pool)s}' % s, instant=true, format='table'),
        g.target('H', 'didww_capacity_pool_monthly_price{%(pool)s}' % s, instant=true, format='table'),
        g.target('I', 'didww_capacity_pool_metered_rate{%(pool)s}' % s, instant=true, format='table'),
        g.target('J', 'didww_capacity_pool_renewal_timestamp_seconds{%(pool)s} * 1000' % s, instant=true, format='table'),
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
                      { color: 'orange', value: c.poolNearExhaustionRatio - 0.1 },
                      { color: 'red', value: c.poolNearExhaustionRatio },
                    ],
                  },
                },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Renews' },
              properties: [{ id: 'unit', value: 'dateTimeAsIsoNoDateIfToday' }],
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
                target: 'Account',
                pool: 'Pool',
                'Value #A': 'Total',
                'Value #B': 'Assigned',
                'Value #C': 'Unassigned',
                'Value #D': 'Utilisation',
                'Value #E': 'Minimum limit',
                'Value #F': 'Minimum order',
                'Value #G': 'Setup price',
                'Value #H': 'Monthly price',
                'Value #I': 'Metered rate',
                'Value #J': 'Renews',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
    g.row(14, 'Shared capacity groups', 40),
    g.panel(
      15, 'table', 'Shared capacity groups',
      'Every shared capacity group with its pool, shared and metered channels and DID count. Metered 0: no metered overflow.',
      { x: 0, y: 41, w: 24, h: 8 },
      [
        g.target('A', 'didww_shared_capacity_group_shared_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('B', 'didww_shared_capacity_group_metered_channels{%(pool)s}' % s, instant=true, format='table'),
        g.target('C', 'didww_shared_capacity_group_dids{%(pool)s}' % s, instant=true, format='table'),
      ],
      {
        fieldConfig: {
          defaults: { mappings: [], custom: { align: 'auto', filterable: true } },
          overrides: [],
        },
        options: { showHeader: true, sortBy: [{ displayName: 'Shared channels', desc: true }] },
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, job: true, instance: true },
              renameByName: {
                target: 'Account',
                pool: 'Pool',
                capacity_group: 'Capacity group',
                'Value #A': 'Shared channels',
                'Value #B': 'Metered channels',
                'Value #C': 'DIDs',
              },
              indexByName: {},
            },
          },
        ],
      },
    ),
  ],
  meta:: {
    uid: 'tce-didww',
    title: 'DIDWW capacity',
    description: 'DIDWW capacity pools (channels owned, assigned, unassigned), shared capacity groups, renewals and cost, and the account balance.',
  },
}
