mutuo_integration_test(test_mesh LABELS "agent;tracker;receiver;dashboard")
mutuo_integration_test(test_agent_freeze LABELS "agent;tracker;dashboard")
