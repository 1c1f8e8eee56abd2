mutuo_unit_test(store_writer_test LABELS "receiver" LIBS mutuo_receiver_core)
mutuo_unit_test(store_encoding_test LABELS "receiver;common")
mutuo_unit_test(receiver_test LABELS "receiver" LIBS mutuo_receiver_core)
mutuo_unit_test(metrics_test LABELS "receiver;common" LIBS civetweb::civetweb)
