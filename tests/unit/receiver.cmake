mutuo_unit_test(store_writer_test LABELS "receiver" LIBS mutuo_receiver_core)
