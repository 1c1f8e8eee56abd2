mutuo_unit_test(live_set_test LABELS "tracker" LIBS mutuo_tracker_core)
