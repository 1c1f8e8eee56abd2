mutuo_integration_test(test_agent_rights LABELS "security;receiver;dashboard")
mutuo_integration_test(test_security_registration LABELS "security;dashboard;agent" TIMEOUT 150)
mutuo_integration_test(test_dashboard_api_auth LABELS "security;dashboard" TIMEOUT 90)
mutuo_integration_test(test_security_tls LABELS "security;agent" TIMEOUT 90)
