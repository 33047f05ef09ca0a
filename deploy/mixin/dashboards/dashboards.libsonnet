// The four dashboards: the panels carried over from the hand-written JSON (one file each)
// plus the peaks, headroom, forecast, capacity-chain and DIDWW trunk panels added here.
local g = import '../lib/grafana.libsonnet';
local didww = import 'didww.libsonnet';
local exporter = import 'exporter.libsonnet';
local overview = import 'overview.libsonnet';
local trunkGroups = import 'trunk_groups.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local tg = 'target_service_provider_group_trunk_group',
    local grp = 'target_service_provider_group',
    local sp = 'target_service_provider',
    // The selectors of the variables, each narrowed by the ones before.
    local sel = {
      job: 'job=~"$job"',
      target: self.job + ', target=~"$target"',
      sp: self.target + ', service_provider=~"$service_provider"',
      group: self.sp + ', group=~"$group"',
      tg: self.group + ', trunk_group=~"$trunk_group"',
      pool: self.target + ', pool=~"$pool"',
    },

    // Variables: job first, then target and the finer filters, each narrowed by the ones before.
    local odinVariables(metric) = [
      g.jobVariable(c, metric),
      g.queryVariable('target', 'Odin', 'label_values(%s{job=~"$job"}, target)' % metric),
      g.queryVariable(
        'service_provider', 'Service provider',
        'label_values(%s{job=~"$job", target=~"$target"}, service_provider)' % metric
      ),
      g.queryVariable(
        'group', 'Group',
        'label_values(%s{job=~"$job", target=~"$target", service_provider=~"$service_provider"}, group)'
        % (if metric == 'odin_service_provider_up' then 'odin_group_max_active_calls' else metric)
      ),
    ],

    local withUnit(unit) = { fieldConfig+: { defaults+: { unit: unit } } },
    local money = withUnit(c.currency),

    // A table of instant values, one row per series, columns renamed.
    local table(id, title, description, gridPos, columns, labels, sortBy) = g.panel(
      id, 'table', title, description, gridPos,
      [g.target(col.ref, col.expr, instant=true, format='table') for col in columns],
      {
        fieldConfig: {
          defaults: { mappings: g.unlimitedMappings, custom: { align: 'auto', filterable: true } },
          overrides: [
            {
              matcher: { id: 'byName', options: col.name },
              properties: [{ id: 'unit', value: col.unit }],
            }
            for col in columns
            if std.objectHas(col, 'unit')
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: sortBy, desc: false }] },
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, __name__: true, job: true, instance: true },
              renameByName: labels + { ['Value #' + col.ref]: col.name for col in columns },
              indexByName: {},
            },
          },
        ],
      },
    ),

    local timeseries(id, title, description, gridPos, targets, unit='short') = g.panel(
      id, 'timeseries', title, description, gridPos, targets,
      {
        fieldConfig: {
          defaults: {
            unit: unit,
            mappings: g.unlimitedMappings,
            custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never' },
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'table', placement: 'right', calcs: ['max', 'lastNotNull'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
      },
    ),

    local bargauge(id, title, description, gridPos, targets, unit, max=null) = g.panel(
      id, 'bargauge', title, description, gridPos, targets,
      {
        fieldConfig: {
          defaults: {
            unit: unit,
            min: 0,
            mappings: g.unlimitedMappings,
            thresholds: {
              mode: 'absolute',
              steps: [
                { color: 'green', value: null },
                { color: 'orange', value: c.saturationWarningRatio },
                { color: 'red', value: 1 },
              ],
            },
          } + (if max == null then {} else { max: max }),
          overrides: [],
        },
        options: {
          displayMode: 'gradient',
          orientation: 'horizontal',
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          showUnfilled: true,
        },
      },
    ),

    // Calls still possible before the cap, smallest first.
    local headroom(capRule, activeRule, sel) =
      'sort(%s{%s} - %s{%s})' % [capRule, sel, activeRule, sel],

    // "Time at limit": the share of the dashboard's range the live calls were at the limit.
    local timeAtLimit(activeRule, capRule, sel) =
      'avg_over_time((%s{%s} >= bool %s{%s})[$__range:])' % [activeRule, sel, capRule, sel],

    'trunk-capacity-overview.json': g.dashboard(
      c, overview.meta.uid, overview.meta.title, overview.meta.description,
      odinVariables('odin_service_provider_up'),
      overview.panels(c, sel) + [
        g.row(100, 'Headroom and peaks (targets with trunk_groups: true)', 52),
        table(
          101, 'Service provider headroom',
          'Effective cap (maxActiveCalls plus the bursting the trunk groups can use) minus the live calls, smallest first. Only service providers whose trunk groups are collected have live calls.',
          { x: 0, y: 53, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(sp + ':odin_service_provider_effective_max_active_calls:sum', sp + ':odin_trunk_group_active_calls:sum', sel.sp) },
            { ref: 'B', name: 'Effective cap', expr: '%s:odin_service_provider_effective_max_active_calls:sum{%s}' % [sp, sel.sp] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_service_provider_peak_utilisation:ratio{%s}' % [sp, sel.sp], unit: 'percentunit' },
          ],
          { target: 'Odin', service_provider: 'Service provider' },
          'Headroom',
        ),
        table(
          102, 'Group headroom',
          "A group's effective cap minus the live calls of its trunk groups, smallest first.",
          { x: 12, y: 53, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(grp + ':odin_group_effective_max_active_calls:sum', grp + ':odin_trunk_group_active_calls:sum', sel.group) },
            { ref: 'B', name: 'Effective cap', expr: '%s:odin_group_effective_max_active_calls:sum{%s}' % [grp, sel.group] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_group_peak_utilisation:ratio{%s}' % [grp, sel.group], unit: 'percentunit' },
          ],
          { target: 'Odin', service_provider: 'Service provider', group: 'Group' },
          'Headroom',
        ),
        timeseries(
          103, 'Service provider peak calls vs. effective cap',
          'The most live calls in each step (max_over_time, so a short peak at the cap is not averaged away at long ranges) against the effective cap.',
          { x: 0, y: 62, w: 12, h: 9 },
          [
            g.target('A', 'max_over_time(%s:odin_trunk_group_active_calls:sum{%s}[$__rate_interval])' % [sp, sel.sp], legend='{{service_provider}} peak'),
            g.target('B', '%s:odin_service_provider_effective_max_active_calls:sum{%s} < +Inf' % [sp, sel.sp], legend='{{service_provider}} effective cap'),
          ],
        ),
        bargauge(
          104, 'Time at the cap (service providers)',
          'Share of the selected time range during which the live calls were at the effective cap: calls were refused then.',
          { x: 12, y: 62, w: 12, h: 9 },
          [g.target('A', timeAtLimit(sp + ':odin_trunk_group_active_calls:sum', sp + ':odin_service_provider_effective_max_active_calls:sum', sel.sp), legend='{{target}} {{service_provider}}')],
          'percentunit', max=1,
        ),
        g.row(110, 'Capacity chain: DIDWW feeding BroadWorks', 71),
        table(
          111, 'Capacity chain',
          'Per configured link (exporter config `links:`): the DIDWW side (shared + metered channels of the capacity group, the voice-in trunk capacity_limit and its trunk group\'s, their minimum) against the BroadWorks side it feeds (effective maxActiveCalls, maxIncomingCalls) and the live incoming calls. BroadWorks above the carrier is oversold.',
          { x: 0, y: 72, w: 24, h: 9 },
          [
            { ref: 'A', name: 'DIDWW channels', expr: 'link:didww_shared_capacity_group_channels:sum{%s}' % sel.sp },
            { ref: 'B', name: 'Voice-in trunk limit', expr: 'link:didww_voice_in_trunk_capacity_limit:max{%s}' % sel.sp },
            { ref: 'G', name: 'Trunk group limit', expr: 'link:didww_voice_in_trunk_group_capacity_limit:max{%s}' % sel.sp },
            { ref: 'C', name: 'Carrier limit', expr: 'link:trunk_capacity_link_carrier_limit:min{%s}' % sel.sp },
            { ref: 'D', name: 'BroadWorks limit', expr: 'link:trunk_capacity_link_broadworks_limit:min{%s}' % sel.sp },
            { ref: 'E', name: 'Incoming calls', expr: 'link:trunk_capacity_link_incoming_calls:sum{%s}' % sel.sp },
            { ref: 'F', name: 'Peak / carrier', expr: 'link:trunk_capacity_link_carrier_utilisation:ratio{%s}' % sel.sp, unit: 'percentunit' },
          ],
          {
            target: 'Odin',
            service_provider: 'Service provider',
            trunk_group: 'Trunk group',
            didww_target: 'DIDWW account',
            capacity_group: 'Capacity group',
            voice_in_trunk: 'Voice-in trunk',
          },
          'Service provider',
        ),
      ],
    ),

    'trunk-capacity-trunk-groups.json': g.dashboard(
      c, trunkGroups.meta.uid, trunkGroups.meta.title, trunkGroups.meta.description,
      odinVariables('odin_trunk_group_max_active_calls') + [
        g.queryVariable(
          'trunk_group', 'Trunk group',
          'label_values(odin_trunk_group_max_active_calls{job=~"$job", target=~"$target", service_provider=~"$service_provider", group=~"$group"}, trunk_group)'
        ),
        {
          name: 'topn',
          label: 'Top N',
          type: 'custom',
          query: '5,10,20,50',
          current: { selected: true, text: '10', value: '10' },
          hide: 0,
          includeAll: false,
          multi: false,
          options: [
            { selected: n == '10', text: n, value: n }
            for n in ['5', '10', '20', '50']
          ],
          skipUrlSync: false,
        },
      ],
      trunkGroups.panels(c, sel) + [
        g.row(100, 'Peaks and headroom', 65),
        timeseries(
          101, 'Peak calls vs. effective limit',
          'The most live calls of each trunk group in each step (max_over_time: a minute at the limit stays visible at a 30-day range) against its effective limit (maxActiveCalls + burstingMaxActiveCalls when bursting is on).',
          { x: 0, y: 66, w: 12, h: 9 },
          [
            g.target('A', 'max_over_time(%s:odin_trunk_group_active_calls:sum{%s}[$__rate_interval])' % [tg, sel.tg], legend='{{trunk_group}} peak'),
            g.target('B', '%s:odin_trunk_group_effective_max_active_calls:sum{%s}' % [tg, sel.tg], legend='{{trunk_group}} effective limit'),
          ],
        ),
        bargauge(
          102, 'Time at the limit (trunk groups)',
          'Share of the selected time range during which the trunk group was at its effective limit, refusing calls.',
          { x: 12, y: 66, w: 12, h: 9 },
          [g.target('A', 'sort_desc(%s)' % timeAtLimit(tg + ':odin_trunk_group_active_calls:sum', tg + ':odin_trunk_group_effective_max_active_calls:sum', sel.tg), legend='{{service_provider}} {{trunk_group}}')],
          'percentunit', max=1,
        ),
        table(
          103, 'Trunk group headroom',
          'Effective limit minus live calls, smallest first, with the peak of the saturation window.',
          { x: 0, y: 75, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(tg + ':odin_trunk_group_effective_max_active_calls:sum', tg + ':odin_trunk_group_active_calls:sum', sel.tg) },
            { ref: 'B', name: 'Effective limit', expr: '%s:odin_trunk_group_effective_max_active_calls:sum{%s}' % [tg, sel.tg] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_trunk_group_peak_utilisation:ratio{%s}' % [tg, sel.tg], unit: 'percentunit' },
          ],
          { target: 'Odin', service_provider: 'Service provider', group: 'Group', trunk_group: 'Trunk group' },
          'Headroom',
        ),
        timeseries(
          104, 'Group peak calls vs. effective cap',
          "The most live calls of each group's trunk groups together in each step against the group's effective cap (odin_group_max_active_calls plus usable bursting).",
          { x: 12, y: 75, w: 12, h: 9 },
          [
            g.target('A', 'max_over_time(%s:odin_trunk_group_active_calls:sum{%s}[$__rate_interval])' % [grp, sel.group], legend='{{group}} peak'),
            g.target('B', '%s:odin_group_effective_max_active_calls:sum{%s} < +Inf' % [grp, sel.group], legend='{{group}} effective cap'),
          ],
        ),
      ],
    ),

    local moneyPanels = ['Balance', 'Credit', 'Low-balance threshold', 'Monthly cost of pools', 'Balance and credit', 'Monthly cost by pool'],
    local poolsMoney = {
      fieldConfig+: {
        overrides+: [{
          matcher: { id: 'byRegexp', options: '/Setup price|Monthly price|Metered rate/' },
          properties: [{ id: 'unit', value: c.currency }],
        }],
      },
    },

    'trunk-capacity-didww.json': g.dashboard(
      c, didww.meta.uid, didww.meta.title, didww.meta.description,
      [
        g.jobVariable(c, 'didww_up'),
        g.queryVariable('target', 'DIDWW account', 'label_values(didww_up{job=~"$job"}, target)'),
        g.queryVariable('pool', 'Pool', 'label_values(didww_capacity_pool_total_channels{job=~"$job", target=~"$target"}, pool)'),
      ],
      [
        if std.member(moneyPanels, p.title) then p + money
        else if p.title == 'Pools' then p + poolsMoney
        else p
        for p in didww.panels(c, sel)
      ] + [
        g.row(100, 'Forecasts', 49),
        g.panel(
          101, 'stat', 'Days of balance left',
          'At the burn of the last %s (deriv): the balance divided by the spend per day. No value while the balance is not falling.' % c.forecastWindow,
          { x: 0, y: 50, w: 6, h: 8 },
          [g.target('A', 'target:didww_account_balance_exhaustion:days{%s}' % sel.target, legend='{{target}}')],
          withUnit('d') + { options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value' } },
        ),
        timeseries(
          102, 'Balance forecast',
          'The balance and where it is heading: predict_linear over the last %s, %d days ahead.' % [c.forecastWindow, c.balanceForecastWarningDays],
          { x: 6, y: 50, w: 9, h: 8 },
          [
            g.target('A', 'didww_account_balance{%s}' % sel.target, legend='{{target}} balance'),
            g.target('B', 'predict_linear(didww_account_balance{%s}[%s], %d * 86400)' % [sel.target, c.forecastWindow, c.balanceForecastWarningDays], legend='{{target}} in %d days' % c.balanceForecastWarningDays),
          ],
          unit=c.currency,
        ),
        bargauge(
          103, 'Days until unassigned channels run out',
          'Per pool, at the rate of the last %s: unassigned channels divided by the channels assigned per day. Only pools that are filling.' % c.forecastWindow,
          { x: 15, y: 50, w: 9, h: 8 },
          [g.target('A', 'sort(target_pool:didww_capacity_pool_exhaustion:days{%s})' % sel.pool, legend='{{pool}}')],
          'd',
        ) + { fieldConfig+: { defaults+: { thresholds: { mode: 'absolute', steps: [
          { color: 'red', value: null },
          { color: 'orange', value: c.poolForecastDays / 2 },
          { color: 'green', value: c.poolForecastDays },
        ] } } } },
        timeseries(
          104, 'Unassigned channels forecast',
          'Unassigned channels per pool and predict_linear over the last %s, %d days ahead: below 0 the pool runs out.' % [c.forecastWindow, c.poolForecastDays],
          { x: 0, y: 58, w: 24, h: 8 },
          [
            g.target('A', 'didww_capacity_pool_unassigned_channels{%s}' % sel.pool, legend='{{pool}}'),
            g.target('B', 'predict_linear(didww_capacity_pool_unassigned_channels{%s}[%s], %d * 86400)' % [sel.pool, c.forecastWindow, c.poolForecastDays], legend='{{pool}} in %d days' % c.poolForecastDays),
          ],
        ),
        g.row(110, 'Voice trunks', 66),
        table(
          111, 'Voice-in trunk capacity',
          'capacity_limit of each voice-in trunk and of the trunk group it belongs to (Unlimited when DIDWW has none; no group limit for a trunk without a group).',
          { x: 0, y: 67, w: 12, h: 8 },
          [
            { ref: 'A', name: 'Trunk limit', expr: 'didww_voice_in_trunk_capacity_limit{%s}' % sel.target },
            // The trunk's group limit on the trunk's row (`>= bool 0` is 1 even for +Inf).
            {
              ref: 'B',
              name: 'Trunk group limit',
              expr: '0 * (didww_voice_in_trunk_capacity_limit{%s} >= bool 0)\n+ on (job, instance, target, voice_in_trunk_group) group_left ()\ndidww_voice_in_trunk_group_capacity_limit{%s}' % [sel.target, sel.target],
            },
          ],
          { target: 'Account', voice_in_trunk: 'Voice-in trunk', voice_in_trunk_group: 'Trunk group' },
          'Voice-in trunk',
        ),
        timeseries(
          112, 'Voice-out trunk spend vs. threshold',
          'Spent this billing period against the threshold amount of each voice-out trunk; at the threshold DIDWW reports threshold_reached.',
          { x: 12, y: 67, w: 12, h: 8 },
          [
            g.target('A', 'didww_voice_out_trunk_spent_amount{%s}' % sel.target, legend='{{voice_out_trunk}} spent'),
            g.target('B', 'didww_voice_out_trunk_threshold_amount{%s}' % sel.target, legend='{{voice_out_trunk}} threshold'),
          ],
          unit=c.currency,
        ),
      ],
    ),

    'trunk-capacity-exporter.json': g.dashboard(
      c, exporter.meta.uid, exporter.meta.title, exporter.meta.description,
      [
        g.queryVariable('job', 'Job', 'label_values({__name__=~"odin_up|didww_up", %s}, job)' % c.jobSelector),
        g.queryVariable('target', 'Target', 'label_values({__name__=~"odin_up|didww_up", job=~"$job"}, target)'),
        {
          name: 'scrape_timeout',
          label: 'Scrape timeout (s)',
          description: "Drawn when Prometheus does not expose scrape_timeout_seconds (it does only with --enable-feature=extra-scrape-metrics): set it to your job's scrape_timeout.",
          type: 'textbox',
          query: '10',
          current: { selected: false, text: '10', value: '10' },
          hide: 0,
          options: [{ selected: true, text: '10', value: '10' }],
          skipUrlSync: false,
        },
      ],
      exporter.panels(c, sel) + [
        g.row(100, 'Scrapes', 40),
        g.panel(
          101, 'state-timeline', 'Scrapes up',
          'Prometheus `up` per exporter instance: 0 is a failed scrape (TrunkCapacityExporterDown).',
          { x: 0, y: 41, w: 24, h: 5 },
          [g.target('A', 'up{job=~"$job"}', legend='{{job}} {{instance}}')],
          {
            fieldConfig: {
              defaults: {
                mappings: [{ type: 'value', options: { '0': { text: 'down', color: 'red' }, '1': { text: 'up', color: 'green' } } }],
              },
              overrides: [],
            },
          },
        ),
      ],
    ),
  },
}
