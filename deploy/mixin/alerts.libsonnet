// Alerting rules. One alert name per condition; where a condition has degrees, one rule per
// severity under the same name (critical, warning), so that Alertmanager's inhibit rule
// `equal: [alertname, ...]` lets the critical silence its warning twin.
//
// Severities come from _config.severities (docs/alerting.md, "Paging policy"): critical pages
// (calls refused at the operator's own limits, or soon; the exporter blind for long), warning
// is a ticket, info is a standing provisioning fact for the dashboards.
local utils = import 'lib/utils.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local js = c.jobSelector,
    local tg = 'target_service_provider_group_trunk_group',
    local tgd = 'target_service_provider_group_trunk_group_direction',
    local grp = 'target_service_provider_group',
    local sp = 'target_service_provider',
    local warnThreshold = sp + ':odin_utilisation_warning:threshold',
    local sev = c.severities,
    local twins(level) =
      assert level.atLimit != level.nearLimit : 'a level needs two severities: ' + std.toString(level);
      level,

    local alert(name, severity, expr, forDuration, summary, description, keep=false) = {
      alert: name,
      expr: expr,
      'for': forDuration,
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: utils.runbookURL(c, name),
      },
    } + (if keep then { keep_firing_for: c.keepFiringFor } else {}),

    // The at-limit and near-limit (a fraction of it) rules of a saturation alert, with the
    // severities of its level.
    local saturation(name, level, ratio, what, where) = [
      alert(
        name, twins(level).atLimit, '%s >= 1' % ratio, c.saturationFor,
        '%s reached its effective call limit: calls are being refused.' % what,
        '%s reached its effective call limit (bursting included) within the last %s: new calls were refused.'
        % [where, c.saturationWindow],
        keep=true,
      ),
      alert(
        name, level.nearLimit,
        '%s >= on (target, service_provider) group_left () %s' % [ratio, warnThreshold],
        c.saturationFor,
        '%s is close to its effective call limit.' % what,
        '%s peaked at {{ $value | humanizePercentage }} of its effective call limit within the last %s.'
        % [where, c.saturationWindow],
        keep=true,
      ),
    ],

    // Blind: a ticket after `ticketFor`, a page once it has lasted blindPageFor.
    local blind(ticketFor) = [
      { severity: sev.blindLong, 'for': c.blindPageFor },
      { severity: sev.blind, 'for': ticketFor },
    ],

    local tgWhere = 'Trunk group {{ $labels.trunk_group }} (group {{ $labels.group }}, service provider {{ $labels.service_provider }}, {{ $labels.target }})',

    groups+: [
      {
        name: 'trunk-capacity-exporter',
        rules: [
          alert(
            'TrunkCapacityExporterDown', level.severity, 'up{%s} == 0' % js, level['for'],
            'Prometheus cannot scrape the trunk capacity exporter.',
            'The scrape of {{ $labels.instance }} (job {{ $labels.job }}) has failed for %s: no capacity data comes in and no capacity alert can start for its targets.'
            % level['for'],
          )
          for level in blind(c.exporterDownFor)
        ] + [
          alert(
            'TrunkCapacityExporterJobAbsent', level.severity,
            std.join('\nor ', ['absent(up{%s})' % js] + ['absent(up{job="%s"})' % job for job in c.exporterJobs]),
            level['for'],
            'No job scrapes the trunk capacity exporter.',
            'Prometheus has had no `up` series for %s for any job the rules select (%s), or for the job of exporterJobs named here: "{{ $labels.job }}". The job is gone from the configuration, is named outside the selector, or its service discovery finds nothing.'
            % [level['for'], std.strReplace(js, '"', "'")],
          )
          for level in blind(c.jobAbsentFor)
        ] + [
          alert(
            'TrunkCapacityExporterTargetDown', sev.targetDown,
            'odin_up{%s} == 0 or didww_up{%s} == 0' % [js, js], c.targetDownFor,
            'The exporter cannot collect from an Odin or DIDWW target.',
            '{{ $labels.target }} has failed to collect for %s: its capacity series are missing and its capacity alerts cannot start.'
            % c.targetDownFor,
          ),
          alert(
            'TrunkCapacityExporterTargetAbsent', sev.targetAbsent,
            // Per job and target, whatever the instance: a restarted pod serving the target
            // under a new instance is not a vanished target.
            |||
              max without (%(inst)s) (max_over_time(odin_up{%(js)s}[%(lb)s]))
              unless ignoring (%(inst)s) odin_up{%(js)s}
              or
              max without (%(inst)s) (max_over_time(didww_up{%(js)s}[%(lb)s]))
              unless ignoring (%(inst)s) didww_up{%(js)s}
            ||| % { js: js, lb: c.targetAbsentLookback, inst: std.join(', ', c.targetInstanceLabels) },
            c.targetAbsentFor,
            'An Odin or DIDWW target has disappeared from Prometheus.',
            'Target {{ $labels.target }} (job {{ $labels.job }}) reported within the last %s but no instance has data of it now.'
            % c.targetAbsentLookback,
          ),
          alert(
            'TrunkCapacityServiceProviderReportFailing', 'warning',
            'odin_service_provider_up{%s} == 0' % js, '15m',
            'The trunk call capacity report of a service provider cannot be fetched.',
            'The Odin trunk call capacity report of service provider {{ $labels.service_provider }} on {{ $labels.target }} has failed for 15 minutes.',
          ),
          alert(
            'TrunkCapacityDataStale', 'warning',
            'time() - trunk_capacity_exporter_last_success_timestamp_seconds{%s} > %d'
            % [js, c.staleDataSeconds],
            c.staleDataFor,
            'A target has not been collected fully for a while.',
            'The last full collection of {{ $labels.target }} was {{ $value | humanizeDuration }} ago: part of its data is missing.',
          ),
          alert(
            'TrunkCapacityDataKindStale', 'warning',
            |||
              trunk_capacity_exporter_data_kind_age_seconds{%(js)s}
              > clamp_min(%(factor)d * trunk_capacity_exporter_data_kind_refresh_interval_seconds{%(js)s}, %(floor)d)
            ||| % { js: js, factor: c.dataKindStaleFactor, floor: c.dataKindStaleFloorSeconds },
            c.dataKindStaleFor,
            'A kind of data is read less often than its refresh interval says.',
            'The oldest {{ $labels.data }} of {{ $labels.target }} served is {{ $value | humanizeDuration }} old, more than %d times its refresh interval: the call budget does not cover it.'
            % c.dataKindStaleFactor,
          ),
          alert(
            'TrunkCapacityConfigReloadFailed', 'warning',
            'trunk_capacity_exporter_config_last_reload_successful{%s} == 0' % js, '5m',
            'The exporter failed to reload its configuration.',
            'The last configuration reload of {{ $labels.instance }} failed; it still serves the previous configuration.',
          ),
          // Odin answering discovery with [] is odin_up 1 and no SP series at all: blind while
          // up. A drop to 0, or below half of the most seen in the last 6h, is a ticket, like a
          // target that cannot be collected (the paging policy: a vendor's side is not a page).
          alert(
            'TrunkCapacityOdinDiscoveryDropped', sev.targetDown,
            |||
              odin_discovery_service_providers{%(js)s} == 0
              or
              odin_discovery_service_providers{%(js)s}
              < 0.5 * max_over_time(odin_discovery_service_providers{%(js)s}[6h])
            ||| % { js: js },
            '10m',
            "Odin's discovery lists far fewer service providers than it did.",
            "Odin's discovery of {{ $labels.target }} lists {{ $value }} service providers, none or less than half of the most it listed in the last 6h: the service providers it no longer lists are not monitored, and no other alert fires for them.",
          ),
        ],
      },
      {
        name: 'trunk-capacity-saturation',
        rules:
          saturation('TrunkCapacityTrunkGroupSaturated', sev.trunkGroup, tg + ':odin_trunk_group_peak_utilisation:ratio',
                     'A trunk group', tgWhere)
          + saturation('TrunkCapacityTrunkGroupDirectionSaturated', sev.trunkGroupDirection,
                       tgd + ':odin_trunk_group_peak_utilisation:ratio',
                       'A trunk group direction',
                       'The {{ $labels.direction }} calls of trunk group {{ $labels.trunk_group }} (group {{ $labels.group }}, service provider {{ $labels.service_provider }}, {{ $labels.target }})')
          + saturation('TrunkCapacityGroupSaturated', sev.group, grp + ':odin_group_peak_utilisation:ratio',
                       'A group',
                       'Group {{ $labels.group }} of service provider {{ $labels.service_provider }} on {{ $labels.target }}')
          + saturation('TrunkCapacityServiceProviderSaturated', sev.serviceProvider,
                       sp + ':odin_service_provider_peak_utilisation:ratio',
                       'A service provider',
                       'Service provider {{ $labels.service_provider }} on {{ $labels.target }}'),
      },
      {
        name: 'trunk-capacity-provisioning',
        rules: [
          alert(
            'TrunkCapacityServiceProviderOversubscribed', 'info',
            // +Inf when a group is unlimited under a finite cap: oversubscription too.
            sp + ':odin_service_provider_oversubscription:ratio > 1', c.provisioningFor,
            'Groups of a service provider are allocated more trunk calls than its cap.',
            'The groups of service provider {{ $labels.service_provider }} on {{ $labels.target }} are allocated {{ $value | humanizePercentage }} of its maxActiveCalls; when they are busy together, calls are refused at the service provider cap.',
          ),
          alert(
            'TrunkCapacityGroupAllocationAboveAvailable', 'info',
            grp + ':odin_group_allocation:ratio > 1', c.provisioningFor,
            'A group is allocated more trunk calls than it may be given.',
            'Group {{ $labels.group }} of service provider {{ $labels.service_provider }} on {{ $labels.target }} is allocated {{ $value | humanizePercentage }} of its maxAvailableActiveCalls.',
          ),
          alert(
            'TrunkCapacityTrunkGroupLicencesExhausted', 'info',
            grp + ':odin_group_trunk_group_licence_usage:ratio >= 1', c.provisioningFor,
            'A group uses every Trunk Group service licence it is authorised.',
            'Group {{ $labels.group }} of service provider {{ $labels.service_provider }} on {{ $labels.target }} uses {{ $value | humanizePercentage }} of its authorised Trunk Group service quantity; no further trunk group can be created in it.',
          ),
          alert(
            'TrunkCapacityPoolUnassignedBelowOrderMinimum', 'info',
            // Pools the account owns no channel of are listed by DIDWW too: leave them out.
            'didww_capacity_pool_unassigned_channels{%s} < didww_capacity_pool_minimum_order_channels{%s}\nand didww_capacity_pool_total_channels{%s} > 0'
            % [js, js, js],
            c.provisioningFor,
            'A DIDWW capacity pool has fewer free channels than one order adds.',
            'Capacity pool {{ $labels.pool }} of DIDWW account {{ $labels.target }} has {{ $value }} unassigned channels, fewer than its minimum order quantity.',
          ),
          alert(
            'TrunkCapacityPoolRenewalDue', 'info',
            'didww_capacity_pool_renewal_timestamp_seconds{%s} - time() < %d * 86400\nand didww_capacity_pool_total_channels{%s} > 0'
            % [js, c.renewalWarningDays, js],
            '1h',
            'A DIDWW capacity pool renews soon.',
            'Capacity pool {{ $labels.pool }} of DIDWW account {{ $labels.target }} renews in {{ $value | humanizeDuration }}; its monthly price is charged to the balance then.',
          ),
        ],
      },
      {
        name: 'trunk-capacity-didww',
        rules: [
          alert(
            'TrunkCapacityPoolNearExhaustion', 'warning',
            'target_pool:didww_capacity_pool_utilisation:ratio\n>= on (target, pool) group_left () target_pool:didww_capacity_pool_utilisation:threshold',
            c.poolFor,
            'A DIDWW capacity pool has nearly all of its channels assigned.',
            'Capacity pool {{ $labels.pool }} of DIDWW account {{ $labels.target }} has {{ $value | humanizePercentage }} of its channels assigned.',
            keep=true,
          ),
          alert(
            'TrunkCapacityPoolExhaustionForecast', 'warning',
            // Inline rather than on the recorded days: self-contained, whatever order the rule
            // groups are evaluated in (the forecast window is long, the interval may be too).
            // deriv is the slope predict_linear extrapolates; the guard is the reason to care:
            // one assignment in a roomy pool steepens the slope but leaves the pool roomy.
            'didww_capacity_pool_unassigned_channels{%(js)s}\n/ (-deriv(didww_capacity_pool_unassigned_channels{%(js)s}[%(w)s]) > 0)\n/ 86400 < %(days)d\nand didww_capacity_pool_unassigned_channels{%(js)s}\n< %(guard)s * didww_capacity_pool_total_channels{%(js)s}'
            % { js: js, w: c.forecastWindow, days: c.poolForecastDays, guard: utils.num(c.poolForecastGuardRatio) },
            c.forecastFor,
            "A DIDWW capacity pool's unassigned channels run out soon at the current rate.",
            'At the rate of the last %s, capacity pool {{ $labels.pool }} of DIDWW account {{ $labels.target }}, with fewer than %s of its channels unassigned, has none left in {{ $value | humanize }} days.'
            % [c.forecastWindow, utils.num(c.poolForecastGuardRatio * 100) + '%'],
            keep=true,
          ),
          alert(
            'TrunkCapacityBalanceLow', 'warning',
            'didww_account_balance{%s}\n< on (target) group_left () target:didww_account_balance:threshold' % js,
            c.balanceFor,
            'The DIDWW account balance is below its threshold.',
            'DIDWW account {{ $labels.target }} has a balance of {{ $value }}, below target:didww_account_balance:threshold (_config.balanceLowThreshold). Calls stop when the balance runs out.',
            keep=true,
          ),
          alert(
            'TrunkCapacityBalanceBelowRenewalCost', 'warning',
            |||
              sum without (pool) (
                didww_capacity_pool_total_channels{%(js)s} * didww_capacity_pool_monthly_price{%(js)s}
                and didww_capacity_pool_renewal_timestamp_seconds{%(js)s} - time() < %(days)d * 86400
              )
              > didww_account_balance{%(js)s}
            ||| % { js: js, days: c.renewalWarningDays },
            '1h',
            'The DIDWW balance does not cover the pools renewing soon.',
            'The capacity pools of DIDWW account {{ $labels.target }} that renew within %d days cost {{ $value }} per month, more than the account balance.'
            % c.renewalWarningDays,
          ),
        ] + [
          alert(
            'TrunkCapacityBalanceExhaustionForecast', level.severity,
            // Only below the balance threshold: a renewal charge steepens the slope for a
            // day but leaves a healthy balance healthy.
            'didww_account_balance{%(js)s}\n/ (-deriv(didww_account_balance{%(js)s}[%(w)s]) > 0)\n/ 86400 < %(days)d\nand didww_account_balance{%(js)s}\n< on (target) group_left () target:didww_account_balance:threshold'
            % { js: js, w: c.forecastWindow, days: level.days },
            c.forecastFor,
            'The DIDWW balance runs out within %d days at the current burn.' % level.days,
            'At the burn of the last %s, DIDWW account {{ $labels.target }}, below its balance threshold, has {{ $value | humanize }} days of balance left.'
            % c.forecastWindow,
            keep=true,
          )
          for level in [
            { severity: sev.balanceExhaustion.imminent, days: c.balanceForecastCriticalDays },
            { severity: sev.balanceExhaustion.soon, days: c.balanceForecastWarningDays },
          ]
        ] + [
          alert(
            'TrunkCapacityVoiceOutTrunkThresholdReached', 'warning',
            'didww_voice_out_trunk_threshold_reached{%s} == 1' % js, '5m',
            'A DIDWW voice-out trunk has spent its threshold amount.',
            'Voice-out trunk {{ $labels.voice_out_trunk }} of DIDWW account {{ $labels.target }} has reached its threshold amount for this billing period; DIDWW may block its outbound calls.',
          ),
        ],
      },
      {
        name: 'trunk-capacity-chain',
        rules: [
          alert(
            'TrunkCapacityLinkUnresolved', 'warning',
            'trunk_capacity_link_resolved{%s} == 0' % js,
            c.chainFor,
            'A configured link names something that does not exist upstream.',
            'The link from {{ $labels.didww_target }} (capacity group "{{ $labels.capacity_group }}", voice-in trunk "{{ $labels.voice_in_trunk }}") to {{ $labels.target }} (service provider {{ $labels.service_provider }}, trunk group "{{ $labels.trunk_group }}") names something its {{ $labels.side }} side does not have: its chain rules are empty and its chain alerts cannot fire. The exporter log and status page name the missing object.',
          ),
          alert(
            'TrunkCapacityChainOversold', 'warning',
            'link:trunk_capacity_link_broadworks_limit:min\n> link:trunk_capacity_link_carrier_limit:min',
            c.chainFor,
            'BroadWorks accepts more concurrent calls than the DIDWW capacity that feeds it.',
            'BroadWorks allows {{ $value }} concurrent calls on service provider {{ $labels.service_provider }} (trunk group "{{ $labels.trunk_group }}", {{ $labels.target }}), more than DIDWW carries on capacity group "{{ $labels.capacity_group }}" / voice-in trunk "{{ $labels.voice_in_trunk }}" of {{ $labels.didww_target }}: at busy hour the carrier refuses calls first.',
          ),
        ] + [
          alert(
            'TrunkCapacityChainNearCarrierLimit', level.severity,
            'link:trunk_capacity_link_carrier_utilisation:ratio >= %s' % utils.num(level.ratio),
            c.saturationFor,
            'Incoming calls %s the DIDWW capacity that feeds them.' % level.verb,
            'Incoming calls on service provider {{ $labels.service_provider }} (trunk group "{{ $labels.trunk_group }}", {{ $labels.target }}) peaked at {{ $value | humanizePercentage }} of the DIDWW limit of capacity group "{{ $labels.capacity_group }}" / voice-in trunk "{{ $labels.voice_in_trunk }}" within the last %s.'
            % c.saturationWindow,
            keep=true,
          )
          for level in [
            { severity: twins(sev.carrier).atLimit, ratio: 1, verb: 'reached' },
            { severity: sev.carrier.nearLimit, ratio: c.chainWarningRatio, verb: 'approach' },
          ]
        ],
      },
    ],
  },
}
