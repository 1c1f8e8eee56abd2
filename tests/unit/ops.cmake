# Operations (issue 10): service readiness for systemd (common/sd_notify).
mutuo_unit_test(sd_notify_test LABELS "common")
