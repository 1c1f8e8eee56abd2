# Operations (issue 10): service readiness for systemd (common/sd_notify).
mutuo_unit_test(sd_notify_test LABELS "common")
# The agent's CivetWeb-free /metrics endpoint (common/metrics_endpoint).
mutuo_unit_test(metrics_endpoint_test LABELS "common;agent")
