# Debian packages (docs/operating.md, "Packages"): `cpack -G DEB` in the build
# directory, after the build, writes one package per program:
#   mutuo-agent, mutuo-tracker, mutuo-receiver, mutuo-dashboard: the program,
#     its systemd unit (packaging/systemd), its config in /etc/mutuo (a
#     conffile), its system user and state directory (maintainer scripts from
#     packaging/debian); the agent also gets cap_net_raw for ICMP;
#   mutuo-broker-config: mutuo-broker and Mosquitto's configuration drop-in.
# Depends come from dpkg-shlibdeps. tests/integration/test_packages.py installs,
# upgrades and purges them.

# The tracker serves /metrics through common/metrics (CivetWeb), as the receiver
# does (docs/operating.md, "Metrics"): linked here, beside the packaging of the
# service endpoints, so that tracker/CMakeLists.txt stays the tracker's own.
if(TARGET mutuo-tracker)
  target_link_libraries(mutuo-tracker PRIVATE mutuo_common civetweb::civetweb)  # in this order
endif()

# cpack (and `make install`) package what is built and build nothing: the
# programs must be built first (scripts/build.sh builds everything), and the
# packages never wait for the tests and benchmarks to compile.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# Also included by packaging/agent-only (the agent alone, e.g. cross-built for
# ARM): then only mutuo-agent is packaged, for the target's architecture.
get_filename_component(MUTUO_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
set(MUTUO_PKG_DIR ${MUTUO_ROOT}/packaging)
set(MUTUO_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
# Where dpkg puts units on Debian 12 (usrmerge keeps /lib a link to /usr/lib).
set(MUTUO_UNIT_DIR /lib/systemd/system)

# mutuo_service_package(<component> <program> <description> [GROUP <group>])
# Install rules and maintainer scripts of one service package. Shell lines for
# its postinst (configure) and postrm (purge) come from the variables
# MUTUO_<COMPONENT>_CONFIGURE and MUTUO_<COMPONENT>_PURGE (variables, not
# arguments: shell code has semicolons, which CMake argument lists split on).
function(mutuo_service_package comp program description)
  cmake_parse_arguments(P "" "GROUP" "" ${ARGN})
  string(TOUPPER ${comp} C)
  set(PACKAGE mutuo-${comp})
  set(NAME ${comp})
  set(DESCRIPTION "${description}")
  set(SERVICE_GROUP ${PACKAGE})
  if(P_GROUP)
    set(SERVICE_GROUP ${P_GROUP})
  endif()
  set(EXTRA_CONFIGURE "${MUTUO_${C}_CONFIGURE}")
  set(EXTRA_PURGE "${MUTUO_${C}_PURGE}")
  set(out ${MUTUO_PKG_OUT}/${comp})
  foreach(script postinst prerm postrm)
    configure_file(${MUTUO_PKG_DIR}/debian/service-${script}.in ${out}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                       WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${out}/conffiles "/etc/mutuo/${comp}.conf\n")
  install(TARGETS ${program} RUNTIME DESTINATION bin COMPONENT ${comp})
  install(FILES ${MUTUO_PKG_DIR}/systemd/${PACKAGE}.service DESTINATION ${MUTUO_UNIT_DIR}
    COMPONENT ${comp})
  install(FILES ${MUTUO_PKG_DIR}/etc/${comp}.conf DESTINATION /etc/mutuo COMPONENT ${comp}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  install(FILES ${MUTUO_ROOT}/docs/operating.md ${MUTUO_ROOT}/docs/${comp}.md
    DESTINATION share/doc/${PACKAGE} COMPONENT ${comp})
  set(CPACK_DEBIAN_${C}_PACKAGE_NAME ${PACKAGE} PARENT_SCOPE)
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA
    "${out}/postinst;${out}/prerm;${out}/postrm;${out}/conffiles" PARENT_SCOPE)
  set(CPACK_COMPONENT_${C}_DESCRIPTION "${description}" PARENT_SCOPE)
endfunction()

set(MUTUO_AGENT_CONFIGURE [=[
    # ICMP probes need raw sockets (docs/agent.md, "ICMP and privileges"): the
    # binary gets cap_net_raw for runs outside systemd; the unit sets it itself.
    if command -v setcap > /dev/null; then
      setcap cap_net_raw+ep /usr/bin/mutuo-agent || echo "mutuo-agent: setcap failed; ICMP needs CAP_NET_RAW" >&2
    fi]=])
mutuo_service_package(agent mutuo-agent
  "mutuo agent: measures its peers and services over MQTT\nRuns on every monitored host: UDP echo, ICMP, TCP, HTTP and DNS probes on\nthe assignment the tracker gives it; buffers results on disk until the\nreceiver confirms them.")
# Everything but the agent exists only in the full build.
if(TARGET mutuo-tracker)
  mutuo_service_package(tracker mutuo-tracker
    "mutuo tracker: tells every mutuo agent whom to probe\nBuilds the live peer set from presence and publishes each agent's assignment\nas retained MQTT messages.")
  # The receiver's store is group mutuo, which the dashboard joins to read it.
  set(MUTUO_RECEIVER_PURGE [=[
      # The shared group goes with the last of mutuo-receiver and mutuo-dashboard.
      others=$(dpkg-query -W -f='${db:Status-Status}\n' mutuo-receiver mutuo-dashboard 2> /dev/null | grep -c '^installed$' || true)
      if [ "${others:-0}" = 0 ] && getent group mutuo > /dev/null; then
        delgroup --system --quiet mutuo > /dev/null 2>&1 || true
      fi]=])
  set(MUTUO_DASHBOARD_PURGE "${MUTUO_RECEIVER_PURGE}")
  set(MUTUO_DASHBOARD_CONFIGURE [=[
      if ! getent group mutuo > /dev/null; then
        addgroup --system --quiet mutuo
      fi]=])
  mutuo_service_package(receiver mutuo-receiver
    "mutuo receiver: stores mutuo probe results in RocksDB\nConsumes result batches from MQTT, stores them with rollups and retention,\nconfirms each stored batch and publishes health alerts."
    GROUP mutuo)
  mutuo_service_package(dashboard mutuo-dashboard
    "mutuo dashboard: web UI and JSON API of mutuo\nUsers, agent registration, status, mesh matrix and history charts;\nmutuo-config keeps agents and checks as JSON (config as code).")
  install(PROGRAMS ${MUTUO_ROOT}/scripts/mutuo-config DESTINATION bin COMPONENT dashboard)

  # mutuo-broker-config: the provisioning script and its templates, kept
  # together in /usr/share/mutuo/broker-config (the script finds its templates
  # beside itself), and a wrapper in /usr/bin.
  install(PROGRAMS ${MUTUO_ROOT}/broker-config/mutuo-broker
                   ${MUTUO_ROOT}/broker-config/mutuo-tls-dev
    DESTINATION share/mutuo/broker-config COMPONENT broker)
  install(FILES ${MUTUO_ROOT}/broker-config/mosquitto.conf.in
                ${MUTUO_ROOT}/broker-config/tls-listener.conf.in
    DESTINATION share/mutuo/broker-config COMPONENT broker)
  install(PROGRAMS ${MUTUO_PKG_DIR}/bin/mutuo-broker ${MUTUO_PKG_DIR}/bin/mutuo-tls-dev
    DESTINATION bin COMPONENT broker)
  install(FILES ${MUTUO_ROOT}/docs/operating.md ${MUTUO_ROOT}/docs/security.md
    DESTINATION share/doc/mutuo-broker-config COMPONENT broker)
  set(CPACK_DEBIAN_BROKER_PACKAGE_NAME mutuo-broker-config)
  set(CPACK_DEBIAN_BROKER_PACKAGE_ARCHITECTURE all)
  set(CPACK_DEBIAN_BROKER_PACKAGE_DEPENDS "mosquitto (>= 2.0), bash, openssl")
  # The control archive names each script by its file name: copy them in place.
  foreach(script postinst postrm)
    configure_file(${MUTUO_PKG_DIR}/debian/broker-${script} ${MUTUO_PKG_OUT}/broker/${script} COPYONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                       WORLD_READ WORLD_EXECUTE)
  endforeach()
  set(CPACK_DEBIAN_BROKER_PACKAGE_CONTROL_EXTRA
    "${MUTUO_PKG_OUT}/broker/postinst;${MUTUO_PKG_OUT}/broker/postrm")
  set(CPACK_COMPONENT_BROKER_DESCRIPTION
    "mutuo broker configuration for Mosquitto\nmutuo-broker writes Mosquitto's configuration for mutuo (listeners, the\ndynamic-security plugin, queue sizes) and provisions service and agent\naccounts. Installed as a drop-in in /etc/mosquitto/conf.d.")
  set(MUTUO_PACKAGES tracker receiver dashboard broker)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mutuo)
set(CPACK_PACKAGE_VENDOR mutuo)
set(CPACK_PACKAGE_CONTACT "mutuo maintainers <mutuo@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent ${MUTUO_PACKAGES})
if(CMAKE_CROSSCOMPILING)
  # Debian's name for the target (dpkg --print-architecture names the build machine's).
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
  endif()
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES ON)
# Every service package creates its user in postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser, libcap2-bin")
# The agent loads libcurl only for http checks (agent/probes/curl_library.h).
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libcurl4")
set(CPACK_DEBIAN_RECEIVER_PACKAGE_RECOMMENDS "mutuo-broker-config")
set(CPACK_DEBIAN_DASHBOARD_PACKAGE_RECOMMENDS "mutuo-receiver, python3")  # python3: mutuo-config
include(CPack)
