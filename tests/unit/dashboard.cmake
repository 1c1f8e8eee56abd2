mutuo_unit_test(dashboard_api_test LABELS "dashboard" LIBS mutuo_dashboard_core)
