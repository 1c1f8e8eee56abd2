mutuo_integration_test(test_alerts_offline_not_down LABELS "alerts;receiver" TIMEOUT 120)
