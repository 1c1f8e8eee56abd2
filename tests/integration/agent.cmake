mutuo_integration_test(test_agent_probes LABELS "agent" TIMEOUT 120)
# Broker outages (docs/agent.md, "Delivery"): 60 s for the plain outage as the
# issue asks; the restart and wiped-broker cases use shorter spans (--outage-s,
# --queued-s) to keep the agent's tests near 4 minutes in CI.
mutuo_integration_test(test_agent_outage_broker_stopped LABELS "agent;receiver" TIMEOUT 240)
mutuo_integration_test(test_agent_outage_agent_restarted LABELS "agent;receiver" TIMEOUT 180)
mutuo_integration_test(test_agent_outage_broker_wiped LABELS "agent;receiver" TIMEOUT 180)
