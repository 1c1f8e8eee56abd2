# Operations (issue 10): service readiness for systemd (common/sd_notify).
mutuo_unit_test(sd_notify_test LABELS "common")
# The agent's CivetWeb-free /metrics endpoint (common/metrics_endpoint).
mutuo_unit_test(metrics_endpoint_test LABELS "common;agent")
# Silences, notification channels, alert history and agent label edits through
# the dashboard API (dashboard/api_admin_routes.h), and channels on the bus as
# the receiver applies them (receiver/health/notifier.h, BusChannels).
mutuo_unit_test(ops_admin_routes_test LABELS "dashboard;alerts;security" LIBS mutuo_dashboard_core)
mutuo_unit_test(ops_channels_test LABELS "alerts;receiver" LIBS mutuo_health valijson)
