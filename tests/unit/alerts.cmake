# Health engine and alerts (issue 8). receiver/health is its own directory; until
# the receiver adds it, the tests add it here.
if(NOT TARGET mutuo_health)
  add_subdirectory(${PROJECT_SOURCE_DIR}/receiver/health ${PROJECT_BINARY_DIR}/receiver/health)
endif()
mutuo_unit_test(health_states_test LABELS "alerts;receiver" LIBS mutuo_health)
mutuo_unit_test(health_attribution_test LABELS "alerts;receiver" LIBS mutuo_health)
mutuo_unit_test(health_alerting_test LABELS "alerts;receiver" LIBS mutuo_health)
mutuo_unit_test(health_notifier_test LABELS "alerts;receiver" LIBS mutuo_health CURL::libcurl)
mutuo_unit_test(health_service_test LABELS "alerts;receiver" LIBS mutuo_health civetweb::civetweb)
mutuo_unit_test(health_options_test LABELS "alerts;receiver" LIBS mutuo_health)
mutuo_unit_test(health_silence_test LABELS "alerts;receiver" LIBS mutuo_health valijson)
mutuo_unit_test(health_history_test LABELS "alerts;receiver" LIBS mutuo_health)
# Second opinions (docs/health.md): the probe-request and probe-now codecs and schemas.
mutuo_unit_test(second_opinion_messages_test LABELS "alerts;tracker;agent" LIBS valijson)
mutuo_unit_test(health_second_opinions_test LABELS "alerts;receiver" LIBS mutuo_health)
