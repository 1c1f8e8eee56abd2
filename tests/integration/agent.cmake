mutuo_integration_test(test_agent_probes LABELS "agent" TIMEOUT 120)
