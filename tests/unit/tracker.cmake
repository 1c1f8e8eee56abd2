mutuo_unit_test(live_set_test LABELS "tracker" LIBS mutuo_tracker_core)
mutuo_unit_test(tracker_assignment_test LABELS "tracker" LIBS mutuo_tracker_core)
mutuo_unit_test(tracker_second_opinions_test LABELS "tracker;alerts" LIBS mutuo_tracker_core)
