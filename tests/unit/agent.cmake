mutuo_unit_test(echo_packet_test LABELS "agent" LIBS mutuo_agent_core)
mutuo_unit_test(delivery_batch_store_test LABELS "agent;common")
mutuo_unit_test(delivery_outbox_test LABELS "agent;common")
mutuo_unit_test(agent_scheduler_test LABELS "agent" LIBS mutuo_agent_core)
