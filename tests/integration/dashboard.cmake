mutuo_integration_test(test_dashboard_series LABELS "dashboard" TIMEOUT 90)
mutuo_integration_test(test_dashboard_live LABELS "dashboard" TIMEOUT 90)
