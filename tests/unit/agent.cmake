mutuo_unit_test(echo_packet_test LABELS "agent" LIBS mutuo_agent_core)
