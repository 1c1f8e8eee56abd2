mutuo_integration_test(test_tracker_churn LABELS "tracker" TIMEOUT 120)
mutuo_integration_test(test_tracker_standby LABELS "tracker" TIMEOUT 120)
