mutuo_integration_test(test_agent_rights LABELS "security;receiver;dashboard")
