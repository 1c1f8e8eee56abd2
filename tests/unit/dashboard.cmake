mutuo_unit_test(dashboard_api_test LABELS "dashboard" LIBS mutuo_dashboard_core)
mutuo_unit_test(security_auth_test LABELS "security;dashboard" LIBS mutuo_dashboard_core)
mutuo_unit_test(security_dynsec_admin_test LABELS "security;dashboard" LIBS mutuo_dashboard_core)
