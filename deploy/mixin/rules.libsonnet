// Recording rules shared by the alerts and the dashboards.
//
// Names follow `level:metric:operation`, where `level` lists the labels kept (job and instance
// are always kept: aggregations use `without`, so two jobs scraping one target never add up;
// `link` stands for the labels of trunk_capacity_link_info).
//
// Unlimited is +Inf (docs/metrics.md): `used / +Inf` is 0 and `+Inf / +Inf` is NaN; neither
// passes a threshold, so no ratio below pages on an unlimited cap.
local utils = import 'lib/utils.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    local js = c.jobSelector,
    local tg = 'target_service_provider_group_trunk_group',
    local tgd = 'target_service_provider_group_trunk_group_direction',
    local grp = 'target_service_provider_group',
    local sp = 'target_service_provider',
    local didwwTarget(expr) = 'label_replace(%s, "didww_target", "$1", "target", "(.*)")' % expr,
    // Joins a series onto the links: `scope` picks trunk-group links or whole-SP links.
    local link(expr, on, scope='') =
      'trunk_capacity_link_info{%s%s}\n* on (%s) group_left ()\n%s' % [js, scope, on, expr],

    groups+: [
      {
        name: 'trunk-capacity-thresholds',
        rules: [
          {
            // The DIDWW balance threshold of TrunkCapacityBalanceLow, per account
            // (_config.balanceLowThreshold and balanceLowOverrides).
            record: 'target:didww_account_balance:threshold',
            expr: utils.thresholdExpr(
              ['target'], 'didww_account_balance{%s}' % js,
              c.balanceLowThreshold, c.balanceLowOverrides
            ),
          },
          {
            // The warning fraction of the effective call limit, per service provider.
            record: 'target_service_provider:odin_utilisation_warning:threshold',
            expr: utils.thresholdExpr(
              ['target', 'service_provider'], 'odin_service_provider_up{%s}' % js,
              c.saturationWarningRatio, c.saturationWarningOverrides
            ),
          },
          {
            // The assigned fraction of a pool's channels that warns, per pool.
            record: 'target_pool:didww_capacity_pool_utilisation:threshold',
            expr: utils.thresholdExpr(
              ['target', 'pool'], 'didww_capacity_pool_total_channels{%s}' % js,
              c.poolNearExhaustionRatio, c.poolNearExhaustionOverrides
            ),
          },
        ],
      },
      {
        name: 'trunk-capacity-odin.rules',
        rules: [
          {
            // Sum of the groups' allocations (maxActiveCalls) per service provider.
            record: sp + ':odin_group_max_active_calls:sum',
            expr: 'sum without (group) (odin_group_max_active_calls{%s})' % js,
          },
          {
            // Allocated / SP cap: > 1 is oversubscription; 0 when the cap is unlimited.
            record: sp + ':odin_service_provider_oversubscription:ratio',
            expr: '%s:odin_group_max_active_calls:sum\n/ odin_service_provider_max_active_calls{%s}'
                  % [sp, js],
          },
          {
            // A group's allocation / the most it may be given (maxAvailableActiveCalls).
            record: grp + ':odin_group_allocation:ratio',
            expr: 'odin_group_max_active_calls{%s} / odin_group_max_available_active_calls{%s}'
                  % [js, js],
          },
          {
            // Trunk Group service licences used / authorised quantity (0 when unlimited).
            record: grp + ':odin_group_trunk_group_licence_usage:ratio',
            expr: 'odin_group_trunk_group_service_usage{%s}\n/ odin_group_trunk_group_service_quantity{%s}'
                  % [js, js],
          },
        ],
      },
      {
        // Live calls (targets with `trunk_groups: true`) against the effective limits.
        name: 'trunk-capacity-odin-trunk-groups.rules',
        rules: [
          {
            record: tg + ':odin_trunk_group_active_calls:sum',
            expr: 'sum without (direction) (odin_trunk_group_active_calls{%s})' % js,
          },
          {
            // Live calls / maxActiveCalls; above 1 the trunk group is bursting.
            record: tg + ':odin_trunk_group_utilisation:ratio',
            expr: '%s:odin_trunk_group_active_calls:sum\n/ odin_trunk_group_max_active_calls{%s}'
                  % [tg, js],
          },
          {
            // The most calls the trunk group takes: burstingMaxActiveCalls is 0 when
            // bursting is off, so this is maxActiveCalls then.
            record: tg + ':odin_trunk_group_effective_max_active_calls:sum',
            expr: 'odin_trunk_group_max_active_calls{%s}\n+ odin_trunk_group_bursting_max_active_calls{%s}'
                  % [js, js],
          },
          {
            // Per direction, where maxIncomingCalls / maxOutgoingCalls exist. The exporter
            // has no per-direction bursting limit: the trunk group's burst is the bound.
            record: tgd + ':odin_trunk_group_effective_max_calls:sum',
            expr: |||
              label_replace(
                odin_trunk_group_max_incoming_calls{%(js)s} + odin_trunk_group_bursting_max_active_calls{%(js)s},
                "direction", "incoming", "", ""
              )
              or
              label_replace(
                odin_trunk_group_max_outgoing_calls{%(js)s} + odin_trunk_group_bursting_max_active_calls{%(js)s},
                "direction", "outgoing", "", ""
              )
            ||| % { js: js },
          },
          {
            record: grp + ':odin_trunk_group_active_calls:sum',
            expr: 'sum without (trunk_group, direction) (odin_trunk_group_active_calls{%s})' % js,
          },
          {
            record: sp + ':odin_trunk_group_active_calls:sum',
            expr: 'sum without (group, trunk_group, direction) (odin_trunk_group_active_calls{%s})'
                  % js,
          },
          {
            // Live calls / the service provider's maxActiveCalls.
            record: sp + ':odin_service_provider_utilisation:ratio',
            expr: '%s:odin_trunk_group_active_calls:sum\n/ odin_service_provider_max_active_calls{%s}'
                  % [sp, js],
          },
          {
            record: grp + ':odin_trunk_group_bursting_max_active_calls:sum',
            expr: 'sum without (trunk_group) (odin_trunk_group_bursting_max_active_calls{%s})' % js,
          },
          {
            record: sp + ':odin_trunk_group_bursting_max_active_calls:sum',
            expr: 'sum without (group, trunk_group) (odin_trunk_group_bursting_max_active_calls{%s})'
                  % js,
          },
          {
            // A group takes maxActiveCalls plus its bursting allowance, but only trunk groups
            // with bursting on can use that: at most the sum of their bursting limits.
            record: grp + ':odin_group_effective_max_active_calls:sum',
            expr: 'odin_group_max_active_calls{%s}\n+ (\n%s\n)' % [
              js,
              utils.minExpr(
                'odin_group_bursting_max_active_calls{%s}' % js,
                grp + ':odin_trunk_group_bursting_max_active_calls:sum'
              ),
            ],
          },
          {
            // The same for a service provider's (enterprise's) cap.
            record: sp + ':odin_service_provider_effective_max_active_calls:sum',
            expr: 'odin_service_provider_max_active_calls{%s}\n+ (\n%s\n)' % [
              js,
              utils.minExpr(
                'odin_service_provider_bursting_max_active_calls{%s}' % js,
                sp + ':odin_trunk_group_bursting_max_active_calls:sum'
              ),
            ],
          },
          {
            // Peak live calls over the saturation window / the effective limit: 1 means the
            // limit was reached, and calls refused, at some point of the window.
            record: tg + ':odin_trunk_group_peak_utilisation:ratio',
            expr: 'max_over_time(%s:odin_trunk_group_active_calls:sum[%s])\n/ %s:odin_trunk_group_effective_max_active_calls:sum'
                  % [tg, c.saturationWindow, tg],
          },
          {
            record: tgd + ':odin_trunk_group_peak_utilisation:ratio',
            expr: 'max_over_time(odin_trunk_group_active_calls{%s}[%s])\n/ %s:odin_trunk_group_effective_max_calls:sum'
                  % [js, c.saturationWindow, tgd],
          },
          {
            record: grp + ':odin_group_peak_utilisation:ratio',
            expr: 'max_over_time(%s:odin_trunk_group_active_calls:sum[%s])\n/ %s:odin_group_effective_max_active_calls:sum'
                  % [grp, c.saturationWindow, grp],
          },
          {
            record: sp + ':odin_service_provider_peak_utilisation:ratio',
            expr: 'max_over_time(%s:odin_trunk_group_active_calls:sum[%s])\n/ %s:odin_service_provider_effective_max_active_calls:sum'
                  % [sp, c.saturationWindow, sp],
          },
        ],
      },
      {
        name: 'trunk-capacity-didww.rules',
        rules: [
          {
            // Channels assigned / channels owned, per capacity pool.
            record: 'target_pool:didww_capacity_pool_utilisation:ratio',
            expr: 'didww_capacity_pool_assigned_channels{%s} / didww_capacity_pool_total_channels{%s}'
                  % [js, js],
          },
          {
            // Change of a pool's unassigned channels per second, fitted over the forecast window.
            record: 'target_pool:didww_capacity_pool_unassigned_channels:deriv',
            expr: 'deriv(didww_capacity_pool_unassigned_channels{%s}[%s])' % [js, c.forecastWindow],
          },
          {
            // Days until the unassigned channels run out at that rate (only while falling).
            record: 'target_pool:didww_capacity_pool_exhaustion:days',
            expr: 'didww_capacity_pool_unassigned_channels{%s}\n/ (-target_pool:didww_capacity_pool_unassigned_channels:deriv > 0)\n/ 86400'
                  % js,
          },
          {
            // Balance burn: change of the balance per second over the forecast window.
            record: 'target:didww_account_balance:deriv',
            expr: 'deriv(didww_account_balance{%s}[%s])' % [js, c.forecastWindow],
          },
          {
            // Days of balance left at the current burn (only while the balance falls).
            record: 'target:didww_account_balance_exhaustion:days',
            expr: 'didww_account_balance{%s}\n/ (-target:didww_account_balance:deriv > 0)\n/ 86400'
                  % js,
          },
        ],
      },
      {
        // The capacity chain: per configured link (trunk_capacity_link_info), the carrier
        // side (DIDWW) and the BroadWorks side that it feeds. Every series keeps the link's
        // labels, so the recorded series of one link join one to one.
        name: 'trunk-capacity-chain.rules',
        rules: [
          {
            // Channels a DIDWW shared capacity group can carry at once: shared + metered.
            record: 'link:didww_shared_capacity_group_channels:sum',
            expr: link(
              // max, not sum: one group is one series, scraped by two jobs it is two.
              'max by (didww_target, capacity_group) (\n%s\n)' % didwwTarget(
                'didww_shared_capacity_group_shared_channels{%s}\n+ didww_shared_capacity_group_metered_channels{%s}'
                % [js, js]
              ),
              'didww_target, capacity_group'
            ),
          },
          {
            record: 'link:didww_voice_in_trunk_capacity_limit:max',
            expr: link(
              'max by (didww_target, voice_in_trunk) (\n%s\n)'
              % didwwTarget('didww_voice_in_trunk_capacity_limit{%s}' % js),
              'didww_target, voice_in_trunk'
            ),
          },
          {
            // The capacity_limit of the trunk group the linked voice-in trunk belongs to: its
            // trunks share it. (`>= bool 0` is 1 even for +Inf, so `0 *` it is 0.)
            record: 'link:didww_voice_in_trunk_group_capacity_limit:max',
            expr: link(
              'max by (didww_target, voice_in_trunk) (\n%s\n)' % didwwTarget(
                '0 * (didww_voice_in_trunk_capacity_limit{%s} >= bool 0)\n+ on (job, instance, target, voice_in_trunk_group) group_left ()\ndidww_voice_in_trunk_group_capacity_limit{%s}'
                % [js, js]
              ),
              'didww_target, voice_in_trunk'
            ),
          },
          {
            // The carrier's limit: the smallest of those the link has.
            record: 'link:trunk_capacity_link_carrier_limit:min',
            expr: utils.minExpr(
              utils.minExpr(
                'link:didww_shared_capacity_group_channels:sum',
                'link:didww_voice_in_trunk_capacity_limit:max'
              ),
              'link:didww_voice_in_trunk_group_capacity_limit:max'
            ),
          },
          {
            // The most incoming calls BroadWorks accepts: the trunk group's effective limit
            // (and its incoming limit where set), or the service provider's effective cap.
            record: 'link:trunk_capacity_link_broadworks_limit:min',
            expr: |||
              (
                %(tgLimit)s
              )
              or
              %(spLimit)s
            ||| % {
              tgLimit: utils.minExpr(
                link('max by (target, service_provider, trunk_group) (%s:odin_trunk_group_effective_max_active_calls:sum)' % tg,
                     'target, service_provider, trunk_group'),
                link('max by (target, service_provider, trunk_group) (%s:odin_trunk_group_effective_max_calls:sum{direction="incoming"})' % tgd,
                     'target, service_provider, trunk_group'),
              ),
              spLimit: link(
                'max by (target, service_provider) (%s:odin_service_provider_effective_max_active_calls:sum)' % sp,
                'target, service_provider',
                ', trunk_group=""'
              ),
            },
          },
          {
            // Live incoming calls on the BroadWorks side of the link: Odin's count is the
            // estimate of the carrier's (DIDWW has no live channel count). Summed per job, then
            // the max across jobs, so a target scraped by two jobs is not counted twice.
            record: 'link:trunk_capacity_link_incoming_calls:sum',
            expr: |||
              %(tgCalls)s
              or
              (
                %(spCalls)s
              )
            ||| % {
              tgCalls: link(
                'max by (target, service_provider, trunk_group) (odin_trunk_group_active_calls{%s, direction="incoming"})' % js,
                'target, service_provider, trunk_group'
              ),
              spCalls: link(
                'max by (target, service_provider) (sum without (group, trunk_group, direction) (odin_trunk_group_active_calls{%s, direction="incoming"}))' % js,
                'target, service_provider',
                ', trunk_group=""'
              ),
            },
          },
          {
            // Peak incoming calls over the saturation window / the carrier's limit.
            record: 'link:trunk_capacity_link_carrier_utilisation:ratio',
            expr: 'max_over_time(link:trunk_capacity_link_incoming_calls:sum[%s])\n/ link:trunk_capacity_link_carrier_limit:min'
                  % c.saturationWindow,
          },
        ],
      },
      {
        // Capacity planning: the traffic of every hour, per trunk group, service provider and
        // DIDWW pool. The average of the live calls over an hour is the hour's traffic in
        // erlangs (what Erlang B takes); the hourly peak is the most calls seen at once. Both
        // windows slide with each evaluation, so the most of a day is that day's busiest hour.
        // The planning dashboard and `trunk-capacity-exporter plan` read them (docs/planning.md).
        name: 'trunk-capacity-planning.rules',
        rules: [
          {
            // Live calls through each DIDWW pool: the incoming calls of the links whose shared
            // capacity group draws from the pool (DIDWW has no live channel count; Odin's is
            // the estimate), per pool, with the DIDWW account as `target`.
            record: 'target_pool:trunk_capacity_link_incoming_calls:sum',
            expr: |||
              sum by (job, instance, target, pool) (
                label_replace(
                  link:trunk_capacity_link_incoming_calls:sum
                  * on (didww_target, capacity_group) group_left (pool)
                  group by (didww_target, capacity_group, pool) (
                    %s
                  ),
                  "target", "$1", "didww_target", "(.*)"
                )
              )
            ||| % didwwTarget('didww_shared_capacity_group_shared_channels{%s}' % js),
          },
        ] + std.flattenArrays([
          [
            {
              record: '%s:%s:hourly_avg' % [series[0], series[1]],
              expr: 'avg_over_time(%s:%s:sum[1h])' % series,
            },
            {
              record: '%s:%s:hourly_max' % [series[0], series[1]],
              expr: 'max_over_time(%s:%s:sum[1h])' % series,
            },
          ]
          for series in [
            [tg, 'odin_trunk_group_active_calls'],
            [sp, 'odin_trunk_group_active_calls'],
            ['target_pool', 'trunk_capacity_link_incoming_calls'],
          ]
        ]),
      },
    ],
  },
}
