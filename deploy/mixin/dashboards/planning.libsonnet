// The capacity-planning dashboard: busy-hour traffic over weeks from the planning rules
// (trunk-capacity-planning.rules), against the effective limits the alerts use. The Erlang B
// figures (blocking at today's limit, channels for a grade of service) are
// `trunk-capacity-exporter plan`'s (docs/planning.md): PromQL has no recurrence.
{
  meta:: {
    uid: 'tce-planning',
    title: 'Trunk capacity planning',
    description: 'Busy-hour erlangs and peaks per trunk group, service provider and DIDWW pool over weeks, against the effective limits, and the trend towards them. Run `trunk-capacity-exporter plan` for Erlang B sizing.',
  },
}
