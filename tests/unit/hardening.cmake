# Hardening (issue 9, docs/hardening.md): the alert history on a real full disk
# (a tmpfs the test mounts as root; "SKIP:" otherwise).
mutuo_unit_test(alert_history_disk_full_test LABELS "drill;alerts;receiver" LIBS mutuo_health)
set_tests_properties(unit.alert_history_disk_full_test PROPERTIES SKIP_REGULAR_EXPRESSION "SKIP:")
