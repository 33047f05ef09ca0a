// The four dashboards: the panels carried over from the hand-written JSON (one file each)
// plus the peaks, headroom, forecast, capacity-chain and DIDWW trunk panels added here.
local g = import '../lib/grafana.libsonnet';
local didww = import 'didww.libsonnet';
local exporter = import 'exporter.libsonnet';
local overview = import 'overview.libsonnet';
local planning = import 'planning.libsonnet';
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
    local table(id, title, description, gridPos, columns, labels, sortBy, desc=false, links={}) = g.panel(
      id, 'table', title, description, gridPos,
      [g.target(col.ref, col.expr, instant=true, format='table') for col in columns],
      {
        fieldConfig: {
          defaults: { mappings: g.unlimitedMappings, custom: { align: 'auto', filterable: true } },
          overrides: [
            {
              matcher: { id: 'byName', options: col.name },
              properties: (if std.objectHas(col, 'unit') then [{ id: 'unit', value: col.unit }] else []) + (
                if std.objectHas(col, 'thresholds') then [
                  { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                  { id: 'thresholds', value: { mode: 'absolute', steps: col.thresholds } },
                ] else []
              ) + (
                if std.objectHas(col, 'mappings') then [
                  { id: 'mappings', value: col.mappings },
                  { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                ] else []
              ),
            }
            for col in columns
            if std.objectHas(col, 'unit') || std.objectHas(col, 'mappings')
          ] + [
            {
              matcher: { id: 'byName', options: name },
              properties: [{ id: 'links', value: links[name] }],
            }
            for name in std.objectFields(links)
          ],
        },
        options: { showHeader: true, sortBy: [{ displayName: sortBy, desc: desc }] },
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

    // Calls still possible before the cap.
    local headroom(capRule, activeRule, sel) =
      '%s{%s} - %s{%s}' % [capRule, sel, activeRule, sel],

    // Peak / effective limit: orange from the warning fraction, red at the limit.
    local utilisationSteps = [
      { color: 'green', value: null },
      { color: 'orange', value: c.saturationWarningRatio },
      { color: 'red', value: 1 },
    ],
    // Time at the limit: any is orange (calls were refused), red early.
    local timeAtLimitColours = { fieldConfig+: { defaults+: { thresholds: { mode: 'absolute', steps: [
      { color: 'green', value: null },
      { color: 'orange', value: 0.0001 },
      { color: 'red', value: c.timeAtLimitRedRatio },
    ] } } } },

    local trunkGroupsOf(spField) = g.dashboardLink(
      'Trunk groups of ${__value.text}', trunkGroups.meta.uid,
      { target: '${__data.fields["Odin"]}', service_provider: '${__value.raw}' } + spField,
    ),
    local didwwOf(accountField, pool) = g.dashboardLink(
      'DIDWW view of ${__value.text}', didww.meta.uid,
      { target: accountField } + (if pool then { pool: '${__value.raw}' } else {}),
    ),

    // The runbook of each alert of the mixin, by name: docs/runbooks.md anchors, as the
    // alerts' runbook_url annotations link them.
    local alertNames = std.set([r.alert for grp in $.prometheusAlerts.groups for r in grp.rules if std.objectHas(r, 'alert')]),
    local runbookColumn = {
      targets: [
        t { expr: 'label_replace(%s, "runbook", "$1", "alertname", "(.*)")' % t.expr }
        for t in super.targets
      ],
      fieldConfig+: {
        overrides+: [{
          matcher: { id: 'byName', options: 'runbook' },
          properties: [
            {
              id: 'mappings',
              value: [{
                type: 'value',
                options: { [name]: { text: std.asciiLower(name), index: i } for i in std.range(0, std.length(alertNames) - 1) for name in [alertNames[i]] },
              }],
            },
            { id: 'links', value: [{ title: 'Runbook', url: c.runbookURLPattern % '${__value.text}', targetBlank: true }] },
          ],
        }],
      },
    },

    // "Time at limit": the share of the dashboard's range the live calls were at the limit.
    local timeAtLimit(activeRule, capRule, sel) =
      'avg_over_time((%s{%s} >= bool %s{%s})[$__range:])' % [activeRule, sel, capRule, sel],

    // 0 below the warning fraction, 1 from it (the recorded per-SP threshold), 2 at the limit.
    local state(peak, sel) =
      '(%(peak)s{%(sel)s} >= bool on (target, service_provider) group_left () target_service_provider:odin_utilisation_warning:threshold)\n+ (%(peak)s{%(sel)s} >= bool 1)' % { peak: peak, sel: sel },
    local stateMappings = [{
      type: 'value',
      options: {
        '0': { text: 'ok', color: 'green', index: 0 },
        '1': { text: 'near the limit', color: 'orange', index: 1 },
        '2': { text: 'at the limit: refusing calls', color: 'red', index: 2 },
      },
    }],
    local nearLimitHeight = 11,
    local nearLimit = [
      g.row(200, 'At or near the limit now', 0),
      table(
        201, 'Service providers at or near the limit',
        'Peak live calls over the saturation window (%s) against the effective cap (maxActiveCalls plus usable bursting), the fullest first. State compares it with the warning fraction the alerts use (the recorded target_service_provider:odin_utilisation_warning:threshold: _config.saturationWarningRatio or its override). A service provider links to its trunk groups.' % c.saturationWindow,
        { x: 0, y: 1, w: 12, h: 10 },
        [
          { ref: 'A', name: 'Peak / effective cap', expr: '%s:odin_service_provider_peak_utilisation:ratio{%s}' % [sp, sel.sp], unit: 'percentunit', thresholds: utilisationSteps },
          { ref: 'B', name: 'State', expr: state(sp + ':odin_service_provider_peak_utilisation:ratio', sel.sp), mappings: stateMappings },
          { ref: 'C', name: 'Warning at', expr: 'target_service_provider:odin_utilisation_warning:threshold{%s}' % sel.sp, unit: 'percentunit' },
          { ref: 'D', name: 'Live calls', expr: '%s:odin_trunk_group_active_calls:sum{%s}' % [sp, sel.sp] },
          { ref: 'E', name: 'Effective cap', expr: '%s:odin_service_provider_effective_max_active_calls:sum{%s}' % [sp, sel.sp] },
        ],
        { target: 'Odin', service_provider: 'Service provider' },
        'Peak / effective cap', desc=true,
        links={ 'Service provider': [trunkGroupsOf({})] },
      ),
      table(
        202, 'Trunk groups at or near the limit',
        'Peak live calls over the saturation window (%s) against the effective limit (maxActiveCalls + burstingMaxActiveCalls when bursting is on), the fullest first, with the state the alerts see. A service provider links to its trunk groups.' % c.saturationWindow,
        { x: 12, y: 1, w: 12, h: 10 },
        [
          { ref: 'A', name: 'Peak / effective limit', expr: '%s:odin_trunk_group_peak_utilisation:ratio{%s}' % [tg, sel.group], unit: 'percentunit', thresholds: utilisationSteps },
          { ref: 'B', name: 'State', expr: state(tg + ':odin_trunk_group_peak_utilisation:ratio', sel.group), mappings: stateMappings },
          { ref: 'C', name: 'Live calls', expr: '%s:odin_trunk_group_active_calls:sum{%s}' % [tg, sel.group] },
          { ref: 'D', name: 'Effective limit', expr: '%s:odin_trunk_group_effective_max_active_calls:sum{%s}' % [tg, sel.group] },
        ],
        { target: 'Odin', service_provider: 'Service provider', group: 'Group', trunk_group: 'Trunk group' },
        'Peak / effective limit', desc=true,
        links={ 'Service provider': [trunkGroupsOf({})] },
      ),
    ],
    local below(panels, dy) = [p { gridPos+: { y: p.gridPos.y + dy } } for p in panels],

    'trunk-capacity-overview.json': g.dashboard(
      c, overview.meta.uid, overview.meta.title, overview.meta.description,
      odinVariables('odin_service_provider_up'),
      nearLimit + below([
        if p.id == 15 then p + runbookColumn else p
        for p in overview.panels(c, sel)
      ] + [
        g.row(100, 'Headroom and peaks (targets with trunk_groups: true)', 52),
        table(
          101, 'Service provider headroom',
          'Effective cap (maxActiveCalls plus the bursting the trunk groups can use) minus the live calls, the fullest (peak / effective cap) first. Only service providers whose trunk groups are collected have live calls. A service provider links to its trunk groups.',
          { x: 0, y: 53, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(sp + ':odin_service_provider_effective_max_active_calls:sum', sp + ':odin_trunk_group_active_calls:sum', sel.sp) },
            { ref: 'B', name: 'Effective cap', expr: '%s:odin_service_provider_effective_max_active_calls:sum{%s}' % [sp, sel.sp] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_service_provider_peak_utilisation:ratio{%s}' % [sp, sel.sp], unit: 'percentunit', thresholds: utilisationSteps },
          ],
          { target: 'Odin', service_provider: 'Service provider' },
          'Peak (window)', desc=true,
          links={ 'Service provider': [trunkGroupsOf({})] },
        ),
        table(
          102, 'Group headroom',
          "A group's effective cap minus the live calls of its trunk groups, the fullest first; a group links to its trunk groups.",
          { x: 12, y: 53, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(grp + ':odin_group_effective_max_active_calls:sum', grp + ':odin_trunk_group_active_calls:sum', sel.group) },
            { ref: 'B', name: 'Effective cap', expr: '%s:odin_group_effective_max_active_calls:sum{%s}' % [grp, sel.group] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_group_peak_utilisation:ratio{%s}' % [grp, sel.group], unit: 'percentunit', thresholds: utilisationSteps },
          ],
          { target: 'Odin', service_provider: 'Service provider', group: 'Group' },
          'Peak (window)', desc=true,
          links={ 'Service provider': [trunkGroupsOf({})], Group: [trunkGroupsOf({ service_provider: '${__data.fields["Service provider"]}', group: '${__value.raw}' }) + { title: 'Trunk groups of ${__value.text}' }] },
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
          'Share of the selected time range during which the live calls were at the effective cap: calls were refused then. Orange from the first refusal, red from %g %% of the range (_config.timeAtLimitRedRatio).' % (c.timeAtLimitRedRatio * 100),
          { x: 12, y: 62, w: 12, h: 9 },
          [g.target('A', 'sort_desc(%s)' % timeAtLimit(sp + ':odin_trunk_group_active_calls:sum', sp + ':odin_service_provider_effective_max_active_calls:sum', sel.sp), legend='{{target}} {{service_provider}}')],
          'percentunit', max=1,
        ) + timeAtLimitColours,
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
          links={ 'DIDWW account': [didwwOf('${__value.raw}', false)], 'Service provider': [trunkGroupsOf({})] },
        ),
      ], nearLimitHeight),
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
            g.target('A', 'max_over_time(%s:odin_trunk_group_active_calls:sum{%s}[$__rate_interval])' % [tg, sel.tg], legend='{{service_provider}} / {{trunk_group}} peak'),
            g.target('B', '%s:odin_trunk_group_effective_max_active_calls:sum{%s}' % [tg, sel.tg], legend='{{service_provider}} / {{trunk_group}} effective limit'),
          ],
        ),
        bargauge(
          102, 'Time at the limit (trunk groups)',
          'Share of the selected time range during which the trunk group was at its effective limit, refusing calls. Orange from the first refusal, red from %g %% of the range (_config.timeAtLimitRedRatio).' % (c.timeAtLimitRedRatio * 100),
          { x: 12, y: 66, w: 12, h: 9 },
          [g.target('A', 'sort_desc(%s)' % timeAtLimit(tg + ':odin_trunk_group_active_calls:sum', tg + ':odin_trunk_group_effective_max_active_calls:sum', sel.tg), legend='{{service_provider}} / {{trunk_group}}')],
          'percentunit', max=1,
        ) + timeAtLimitColours,
        table(
          103, 'Trunk group headroom',
          'Effective limit minus live calls, with the peak of the saturation window against it, the fullest first.',
          { x: 0, y: 75, w: 12, h: 9 },
          [
            { ref: 'A', name: 'Headroom', expr: headroom(tg + ':odin_trunk_group_effective_max_active_calls:sum', tg + ':odin_trunk_group_active_calls:sum', sel.tg) },
            { ref: 'B', name: 'Effective limit', expr: '%s:odin_trunk_group_effective_max_active_calls:sum{%s}' % [tg, sel.tg] },
            { ref: 'C', name: 'Peak (window)', expr: '%s:odin_trunk_group_peak_utilisation:ratio{%s}' % [tg, sel.tg], unit: 'percentunit', thresholds: utilisationSteps },
          ],
          { target: 'Odin', service_provider: 'Service provider', group: 'Group', trunk_group: 'Trunk group' },
          'Peak (window)', desc=true,
        ),
        timeseries(
          104, 'Group peak calls vs. effective cap',
          "The most live calls of each group's trunk groups together in each step against the group's effective cap (odin_group_max_active_calls plus usable bursting).",
          { x: 12, y: 75, w: 12, h: 9 },
          [
            g.target('A', 'max_over_time(%s:odin_trunk_group_active_calls:sum{%s}[$__rate_interval])' % [grp, sel.group], legend='{{service_provider}} / {{group}} peak'),
            g.target('B', '%s:odin_group_effective_max_active_calls:sum{%s} < +Inf' % [grp, sel.group], legend='{{service_provider}} / {{group}} effective cap'),
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
          'At the burn of the last %s (deriv): the balance divided by the spend per day. Red below %d days (the forecast alert), green from %d. No value while the balance is not falling.' % [c.forecastWindow, c.balanceForecastWarningDays, c.balanceDaysGreen],
          { x: 0, y: 50, w: 6, h: 8 },
          [g.target('A', 'target:didww_account_balance_exhaustion:days{%s}' % sel.target, legend='{{target}}')],
          withUnit('d') + {
            options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background' },
            fieldConfig+: { defaults+: { color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [
              { color: 'red', value: null },
              { color: 'orange', value: c.balanceForecastWarningDays },
              { color: 'green', value: c.balanceDaysGreen },
            ] } } },
          },
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
          [g.target('A', 'sort(target_pool:didww_capacity_pool_exhaustion:days{%s})' % sel.pool, legend='{{target}} / {{pool}}')],
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
            g.target('A', 'didww_capacity_pool_unassigned_channels{%s}' % sel.pool, legend='{{target}} / {{pool}}'),
            g.target('B', 'predict_linear(didww_capacity_pool_unassigned_channels{%s}[%s], %d * 86400)' % [sel.pool, c.forecastWindow, c.poolForecastDays], legend='{{target}} / {{pool}} in %d days' % c.poolForecastDays),
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
            g.target('A', 'didww_voice_out_trunk_spent_amount{%s}' % sel.target, legend='{{target}} / {{voice_out_trunk}} spent'),
            g.target('B', 'didww_voice_out_trunk_threshold_amount{%s}' % sel.target, legend='{{target}} / {{voice_out_trunk}} threshold'),
          ],
          unit=c.currency,
        ),
      ],
    ),

    // ---- capacity planning --------------------------------------------------------------------
    local planSel = {
      tg: 'job=~"$job", target=~"$target", service_provider=~"$service_provider"',
      sp: self.tg,
      pool: 'job=~"$job", target=~"$account"',
    },
    // [stem of the hourly series, effective limit, selector, legend, who, how the two match]
    // A pool's calls are recorded from the links (the Odin side's job and instance), its
    // channels come from the DIDWW target, which /probe scrapes as another instance.
    local planLevels = [
      [tg + ':odin_trunk_group_active_calls', tg + ':odin_trunk_group_effective_max_active_calls:sum', planSel.tg, '{{service_provider}} / {{group}} / {{trunk_group}}', 'trunk groups', ''],
      [sp + ':odin_trunk_group_active_calls', sp + ':odin_service_provider_effective_max_active_calls:sum', planSel.sp, '{{target}} / {{service_provider}}', 'service providers', ''],
      ['target_pool:trunk_capacity_link_incoming_calls', 'didww_capacity_pool_total_channels', planSel.pool, '{{target}} / {{pool}}', 'DIDWW pools', ' ignoring (job, instance)'],
    ],
    local daily(stem, op, s) = 'max_over_time(%s:hourly_%s{%s}[1d])' % [stem, op, s],
    local busyHourPanel(i, level) = timeseries(
      310 + i, 'Daily busy hour vs. effective limit (%s)' % level[4],
      "Per day: the busiest hour's traffic in erlangs (the most of the hourly average of live calls), the day's peak of live calls, and today's effective limit (dashed)%s." % (if i == 2 then " (a pool's channels owned; its calls are those of the links whose capacity groups draw on it)" else ''),
      { x: 0, y: 1 + 9 * i, w: 24, h: 9 },
      [
        g.target('A', daily(level[0], 'avg', level[2]), legend=level[3] + ' busy-hour E'),
        g.target('B', daily(level[0], 'max', level[2]), legend=level[3] + ' peak'),
        g.target('C', '%s{%s} < +Inf' % [level[1], level[2]], legend=level[3] + ' effective limit'),
      ],
    ) + {
      interval: '1d',
      fieldConfig+: { overrides: [{
        matcher: { id: 'byFrameRefID', options: 'C' },
        properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }],
      }] },
    },
    local weekColumns(level) = [
      { ref: 'A', name: 'Busy-hour E (7 d)', expr: 'max_over_time(%s:hourly_avg{%s}[7d])' % [level[0], level[2]], unit: 'short' },
      { ref: 'B', name: 'Peak (7 d)', expr: 'max_over_time(%s:hourly_max{%s}[7d])' % [level[0], level[2]], unit: 'short' },
      { ref: 'C', name: 'Effective limit', expr: '%s{%s}' % [level[1], level[2]] },
      { ref: 'D', name: 'Peak / limit', expr: 'max_over_time(%s:hourly_max{%s}[7d]) /%s %s{%s}' % [level[0], level[2], level[5], level[1], level[2]], unit: 'percentunit', thresholds: utilisationSteps },
      {
        ref: 'E',
        name: 'Trend: peak / limit in %d d' % c.planningTrendDays,
        // The busiest peak of the week plus the growth fitted over the dashboard's range.
        expr: '(max_over_time(%(s)s:hourly_max{%(sel)s}[7d]) + clamp_min(deriv(%(s)s:hourly_max{%(sel)s}[$__range]), 0) * %(ahead)d * 86400) /%(match)s %(limit)s{%(sel)s}' % { s: level[0], sel: level[2], limit: level[1], match: level[5], ahead: c.planningTrendDays },
        unit: 'percentunit',
        thresholds: utilisationSteps,
      },
    ],

    'trunk-capacity-planning.json': g.dashboard(
      c, planning.meta.uid, planning.meta.title, planning.meta.description,
      [
        g.jobVariable(c, 'odin_service_provider_up'),
        g.queryVariable('target', 'Odin', 'label_values(%s:odin_trunk_group_active_calls:hourly_avg{job=~"$job"}, target)' % sp),
        g.queryVariable('service_provider', 'Service provider', 'label_values(%s:odin_trunk_group_active_calls:hourly_avg{job=~"$job", target=~"$target"}, service_provider)' % sp),
        g.queryVariable('account', 'DIDWW account', 'label_values(didww_capacity_pool_total_channels{job=~"$job"}, target)'),
      ],
      [g.row(300, 'Busy hour against the effective limit', 0)]
      + [busyHourPanel(i, planLevels[i]) for i in [0, 1, 2]]
      + [
        g.row(320, "This week's busiest hour and the trend towards the limit", 28),
        table(
          321, 'Trunk groups: busiest hour this week',
          'Per trunk group over the last 7 days: the busy hour in erlangs, the peak, today\'s effective limit, their ratio and where the peak heads at the growth fitted over the dashboard\'s range (%d days ahead). Erlang B sizing: `trunk-capacity-exporter plan`.' % c.planningTrendDays,
          { x: 0, y: 29, w: 24, h: 9 },
          weekColumns(planLevels[0]),
          { target: 'Odin', service_provider: 'Service provider', group: 'Group', trunk_group: 'Trunk group' },
          'Peak / limit', desc=true,
          links={ 'Service provider': [trunkGroupsOf({})] },
        ),
        table(
          322, 'Service providers: busiest hour this week',
          'The same per service provider, against its effective cap (maxActiveCalls plus the bursting its trunk groups can use).',
          { x: 0, y: 38, w: 12, h: 9 },
          weekColumns(planLevels[1]),
          { target: 'Odin', service_provider: 'Service provider' },
          'Peak / limit', desc=true,
          links={ 'Service provider': [trunkGroupsOf({})] },
        ),
        table(
          323, 'DIDWW pools: busiest hour this week',
          "The same per DIDWW pool, against the channels it owns; a pool links to its DIDWW view.",
          { x: 12, y: 38, w: 12, h: 9 },
          weekColumns(planLevels[2]),
          { target: 'Account', pool: 'Pool' },
          'Peak / limit', desc=true,
          links={ Pool: [didwwOf('${__data.fields["Account"]}', true)] },
        ),
      ],
      time=c.planningTime,
    ),

    'trunk-capacity-exporter.json': g.dashboard(
      c, exporter.meta.uid, exporter.meta.title, exporter.meta.description,
      [
        g.queryVariable('job', 'Job', 'label_values({__name__=~"odin_up|didww_up", %s}, job)' % c.jobSelector),
        g.queryVariable('target', 'Target', 'label_values({__name__=~"odin_up|didww_up", job=~"$job"}, target)'),
        {
          name: 'scrape_timeout',
          label: 'Scrape timeout (s)',
          description: "Drawn when Prometheus does not expose scrape_timeout_seconds (it does only with --enable-feature=extra-scrape-metrics): your job's scrape_timeout (default: the docs', _config.scrapeTimeoutSeconds).",
          type: 'textbox',
          query: std.toString(c.scrapeTimeoutSeconds),
          current: { selected: false, text: std.toString(c.scrapeTimeoutSeconds), value: std.toString(c.scrapeTimeoutSeconds) },
          hide: 0,
          options: [{ selected: true, text: std.toString(c.scrapeTimeoutSeconds), value: std.toString(c.scrapeTimeoutSeconds) }],
          skipUrlSync: false,
        },
        {
          name: 'memory_limit',
          label: 'Memory limit (bytes)',
          description: "The exporter container's memory limit (default: deploy/kubernetes', _config.memoryLimitBytes).",
          type: 'textbox',
          query: std.toString(c.memoryLimitBytes),
          current: { selected: false, text: std.toString(c.memoryLimitBytes), value: std.toString(c.memoryLimitBytes) },
          hide: 0,
          options: [{ selected: true, text: std.toString(c.memoryLimitBytes), value: std.toString(c.memoryLimitBytes) }],
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
        g.row(110, 'Data age, memory and rate limits', 46),
        timeseries(
          111, 'Data age per kind',
          'Age of the oldest item of each kind of data served (trunk_capacity_exporter_data_kind_age_seconds): kinds read in turns under the call budget grow between reads; one that keeps growing is falling behind (alert TrunkCapacityDataKindStale). Red from _config.dataKindStaleFloorSeconds.',
          { x: 0, y: 47, w: 12, h: 8 },
          [g.target('A', 'trunk_capacity_exporter_data_kind_age_seconds{%s}' % sel.target, legend='{{target}} {{data}}')],
          unit='s',
        ) + { fieldConfig+: { defaults+: {
          min: 0,
          color: { mode: 'palette-classic' },
          thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: c.dataKindStaleFloorSeconds }] },
          custom+: { thresholdsStyle: { mode: 'line' } },
        } } },
        bargauge(
          112, 'Memory against the container limit',
          "Resident memory of each exporter process / the container's memory limit (the 'Memory limit' variable): past 100 % the kernel kills it.",
          { x: 12, y: 47, w: 6, h: 8 },
          [g.target('A', 'process_resident_memory_bytes{job=~"$job"} / $memory_limit', legend='{{job}} {{instance}}')],
          'percentunit', max=1,
        ) + { fieldConfig+: { defaults+: { thresholds: { mode: 'absolute', steps: [
          { color: 'green', value: null },
          { color: 'orange', value: 0.8 },
          { color: 'red', value: 0.9 },
        ] } } } },
        timeseries(
          113, 'Rate-limited collections',
          'Collection errors because the upstream refused for its rate limit (reason rate_limited), per target and rate interval: the rate limit in the config is above what the API grants.',
          { x: 18, y: 47, w: 6, h: 8 },
          [g.target('A', 'sum by (target) (increase(trunk_capacity_exporter_collect_errors_total{%s, reason="rate_limited"}[$__rate_interval]))' % sel.target, legend='{{target}}')],
        ),
      ],
    ),
  },
}
