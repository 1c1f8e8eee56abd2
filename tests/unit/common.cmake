mutuo_unit_test(topics_test LABELS "common;security")
mutuo_unit_test(messages_test LABELS "common;agent;tracker;receiver")
mutuo_unit_test(schema_test LABELS "common;agent;tracker;receiver" LIBS valijson)
mutuo_unit_test(store_layout_test LABELS "receiver")
