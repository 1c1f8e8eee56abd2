# Hostile input over the real bus (docs/hardening.md). scripts/hardening.sh
# also runs it with every program built with ASan+UBSan.
mutuo_integration_test(test_hostile_agent_input LABELS "security;receiver;tracker;dashboard" TIMEOUT 240)
mutuo_integration_test(test_hostile_http LABELS "security;dashboard" TIMEOUT 240)
