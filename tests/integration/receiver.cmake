mutuo_integration_test(test_receiver_survives_kills LABELS "receiver" TIMEOUT 300)
