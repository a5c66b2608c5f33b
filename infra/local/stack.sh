#!/usr/bin/env bash
# The local stack without Docker: Apache Kafka (KRaft, one node) and Apicurio Registry
# (Confluent-compatible API), both resolved from Maven Central and run with the machine's Java 17.
# ClickHouse is embedded in the service (chdb), so it has no process here.
#
#   stack.sh install | start | stop | status | logs [kafka|registry]
#
# Settings (env): FLEETSTREAM_DATA_DIR (.data), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
# KAFKA_SASL_PORT (9094: SASL_PLAINTEXT, SCRAM-SHA-256/512 and PLAIN, user fleetstream / password
# fleetstream-local), KAFKA_SASL_SSL_PORT (9095: the same over TLS, with a client certificate; CA and client
# PEMs in <data dir>/kafka/tls), REGISTRY_PORT (8081), FLEETSTREAM_TOOLS_DIR (.tools: downloaded jars, shared by data dirs),
# KAFKA_VERSION (4.4.0; 3.9.1 or any other 3.9.x or 4.x from Maven Central, each in its own .tools/kafka-<version>).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/infra/local"
DATA="${FLEETSTREAM_DATA_DIR:-$ROOT/.data}"
TOOLS="${FLEETSTREAM_TOOLS_DIR:-$ROOT/.tools}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
SASL_PORT="${KAFKA_SASL_PORT:-9094}"
SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-9095}"
# the local stack's one SASL user: a well-known password, for this machine only
SASL_USER="fleetstream"
SASL_PASSWORD="fleetstream-local"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
APICURIO_VERSION="3.0.9" # the 3.0 line runs on Java 17; 3.2+ needs Java 21
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_LIBS="$TOOLS/kafka-$KAFKA_VERSION/libs"
REGISTRY_HOME="$TOOLS/apicurio-registry-$APICURIO_VERSION"
RUN="$DATA/run"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# What differs between the two Kafka lines: the logging backend and its config file (3.9: reload4j; 4.x: log4j2).
case "$KAFKA_VERSION" in
  3.9.*) KAFKA_LINE=3 KAFKA_LOG_CONFIG="-Dlog4j.configuration=file:$HERE/kafka/log4j.properties" ;;
  4.*) KAFKA_LINE=4 KAFKA_LOG_CONFIG="-Dlog4j2.configurationFile=$HERE/kafka/log4j2.yaml" ;;
  *) die "KAFKA_VERSION=$KAFKA_VERSION: the local stack runs Kafka 3.9.x or 4.x." ;;
esac

need_java() {
  command -v java >/dev/null || die "java not found: install a JDK 17 (Debian: apt-get install openjdk-17-jre-headless)."
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "java $major found; Kafka $KAFKA_VERSION and Apicurio $APICURIO_VERSION need Java 17 or newer."
}

need_mvn() {
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install maven); it resolves Kafka and the registry from Maven Central."
}

mvn_fetch() { # mvn_fetch LOG ARGS... — quiet Maven with one clear line when Maven Central refuses
  local log="$1"; shift
  if ! mvn -B -q "$@" >"$log" 2>&1; then
    tail -20 "$log" >&2
    die "Maven could not resolve the artifacts (see $log). Is Maven Central reachable from this machine?"
  fi
}

install() {
  need_java
  mkdir -p "$TOOLS"
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    need_mvn
    say "resolving Apache Kafka $KAFKA_VERSION from Maven Central"
    rm -rf "$KAFKA_LIBS"
    mvn_fetch "$TOOLS/kafka-$KAFKA_VERSION-install.log" -f "$HERE/kafka/pom.xml" -P "kafka-$KAFKA_LINE" \
      -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  fi
  if [ ! -f "$REGISTRY_HOME/.complete" ]; then
    need_mvn
    say "resolving Apicurio Registry $APICURIO_VERSION from Maven Central"
    rm -rf "$REGISTRY_HOME" && mkdir -p "$REGISTRY_HOME"
    mvn_fetch "$TOOLS/registry-install.log" dependency:copy \
      -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$REGISTRY_HOME"
    tar xzf "$REGISTRY_HOME"/apicurio-registry-app-*.tar.gz -C "$REGISTRY_HOME"
    rm -f "$REGISTRY_HOME"/apicurio-registry-app-*.tar.gz
    touch "$REGISTRY_HOME/.complete"
  fi
  say "installed: Kafka in $KAFKA_LIBS, registry in $REGISTRY_HOME"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

wait_for() { # wait_for NAME SECONDS CHECK...
  local name="$1" seconds="$2"; shift 2
  for _ in $(seq "$((seconds * 2))"); do
    "$@" && return 0
    pid_alive "$name" || die "$name exited while starting; last lines of $DATA/logs/$name.log:
$(tail -15 "$DATA/logs/$name.log" 2>/dev/null)"
    sleep 0.5
  done
  die "$name did not become healthy in ${seconds}s; see $DATA/logs/$name.log"
}

registry_ready() { curl -fsS "http://127.0.0.1:$REGISTRY_PORT/health/ready" >/dev/null 2>&1; }
kafka_ready() {
  grep -q "Kafka Server started" "$DATA/logs/kafka/server.log" 2>/dev/null && port_open "$KAFKA_PORT" && port_open "$SASL_PORT" && port_open "$SASL_SSL_PORT"
}

# A local CA, the broker's certificate (for 127.0.0.1) and a client certificate, once per data dir:
# ca.pem (KAFKA_SSL_CA_FILE), client.pem and client.key (KAFKA_SSL_CERT_FILE / KAFKA_SSL_KEY_FILE).
make_tls() {
  local dir="$DATA/kafka/tls"
  [ -f "$dir/broker-keystore.pem" ] && return
  command -v openssl >/dev/null || die "openssl not found: install it (Debian: apt-get install openssl); it makes the local TLS certificates."
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fleetstream local CA" -keyout ca.key -out ca.pem
    for name in broker client; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key" -out "$name.csr"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$name.ext"
      openssl x509 -req -days 3650 -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -extfile "$name.ext" -out "$name.pem"
    done
    cat broker.key broker.pem >broker-keystore.pem.tmp && mv broker-keystore.pem.tmp broker-keystore.pem
  ) >"$DATA/logs/kafka-tls.log" 2>&1 || die "making the local TLS certificates failed; see $DATA/logs/kafka-tls.log"
  say "TLS: CA $dir/ca.pem, client certificate $dir/client.pem and key $dir/client.key"
}

# SCRAM credentials are cluster metadata, not broker config: set after the broker is up, so data dirs
# formatted before the SASL listener existed get the user too. The marker (cluster id, user, password)
# saves the two JVM starts on later restarts of the same cluster; a re-formatted one gets a new id.
# One mechanism per call: a KRaft controller refuses two changes to one user in a single request.
add_sasl_user() {
  local marker="$DATA/kafka/sasl-user.done" want
  want="$(grep '^cluster.id=' "$DATA/kafka/logs/meta.properties") $SASL_USER $SASL_PASSWORD"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return; fi
  : >"$DATA/logs/kafka-sasl-user.log"
  # Kafka 4.4 has ConfigCommand in kafka-tools' org.apache.kafka.tools; 3.9 and 4.0 in kafka_2.13's kafka.admin
  # (a jar lists its class names uncompressed, so grep finds them)
  local config_command=kafka.admin.ConfigCommand
  grep -qs 'org/apache/kafka/tools/ConfigCommand.class' "$KAFKA_LIBS"/kafka-tools-*.jar && config_command=org.apache.kafka.tools.ConfigCommand
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    java -cp "$KAFKA_LIBS/*" "$config_command" --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter \
      --add-config "$mechanism=[password=$SASL_PASSWORD]" \
      --entity-type users --entity-name "$SASL_USER" >>"$DATA/logs/kafka-sasl-user.log" 2>&1 \
      || die "creating the $mechanism user $SASL_USER failed; see $DATA/logs/kafka-sasl-user.log"
  done
  printf '%s' "$want" >"$marker"
}

# A data dir formatted by 4.x has a 4.x metadata.version, which a 3.9 broker cannot read (it stops with
# "No MetadataVersion with feature level N"). One formatted by 3.9 runs on 4.x and keeps metadata.version
# 3.9-IV0, Kafka's rule for upgrades, so the way back stays open until `kafka-features upgrade` raises it.
# Data dirs without the marker were formatted by 3.9.1, the only version this script ran before.
check_data_version() {
  local formatted_by
  formatted_by=$(cat "$DATA/kafka/formatted-by" 2>/dev/null || echo 3.9.1)
  case "$KAFKA_LINE:$formatted_by" in
    3:4.*) die "$DATA/kafka was formatted by Kafka $formatted_by; Kafka $KAFKA_VERSION cannot read its metadata. Use another FLEETSTREAM_DATA_DIR, or delete $DATA/kafka (its topics are lost)." ;;
    4:3.*) say "data formatted by Kafka $formatted_by: Kafka $KAFKA_VERSION keeps its metadata.version (3.9-IV0 unless raised with kafka-features); delete $DATA/kafka for a clean 4.x cluster" ;;
  esac
}

start_kafka() {
  if pid_alive kafka; then say "kafka already running (pid $(cat "$RUN/kafka.pid"))"; return; fi
  for port in "$KAFKA_PORT" "$CONTROLLER_PORT" "$SASL_PORT" "$SASL_SSL_PORT"; do
    port_open "$port" && die "port $port is already taken by another process; stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SASL_PORT / KAFKA_SASL_SSL_PORT."
  done
  mkdir -p "$DATA/kafka" "$DATA/logs" "$RUN"
  sed -e "s#@DATA@#$DATA#g" -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    -e "s#@KAFKA_SASL_PORT@#$SASL_PORT#g" -e "s#@KAFKA_SASL_SSL_PORT@#$SASL_SSL_PORT#g" \
    -e "s#@SASL_USER@#$SASL_USER#g" -e "s#@SASL_PASSWORD@#$SASL_PASSWORD#g" \
    "$HERE/kafka/server.properties.template" >"$DATA/kafka/server.properties"
  make_tls
  local java_opts=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    "$KAFKA_LOG_CONFIG" "-Dkafka.logs.dir=$DATA/logs/kafka")
  if [ ! -f "$DATA/kafka/logs/meta.properties" ]; then
    say "formatting Kafka storage in $DATA/kafka/logs"
    java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
      -t "$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$DATA/kafka/server.properties" >"$DATA/logs/kafka-format.log" 2>&1 \
      || die "formatting Kafka storage failed; see $DATA/logs/kafka-format.log"
    printf '%s\n' "$KAFKA_VERSION" >"$DATA/kafka/formatted-by"
  fi
  check_data_version
  say "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  mkdir -p "$DATA/logs/kafka"
  # a fresh server.log, so the readiness check sees this start's "started" line, not an old one
  [ -f "$DATA/logs/kafka/server.log" ] && mv "$DATA/logs/kafka/server.log" "$DATA/logs/kafka/server.log.prev"
  nohup java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$DATA/kafka/server.properties" \
    >"$DATA/logs/kafka.log" 2>&1 &
  echo $! >"$RUN/kafka.pid"
  wait_for kafka 90 kafka_ready
  add_sasl_user
  say "SASL user $SASL_USER on 127.0.0.1:$SASL_PORT and, over TLS, 127.0.0.1:$SASL_SSL_PORT (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN)"
}

start_registry() {
  if pid_alive registry; then say "registry already running (pid $(cat "$RUN/registry.pid"))"; return; fi
  port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is already taken by another process; stop it or set REGISTRY_PORT."
  mkdir -p "$DATA/registry" "$DATA/logs" "$RUN"
  say "starting schema registry on http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
  # H2 in a file so schema ids survive restarts: records in Kafka keep pointing at valid ids.
  APICURIO_DATASOURCE_URL="jdbc:h2:file:$DATA/registry/registry;DB_CLOSE_ON_EXIT=FALSE" \
  QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT="$REGISTRY_PORT" QUARKUS_LOG_CONSOLE_JSON=false \
    nohup java -Xms128m -Xmx512m -jar "$REGISTRY_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar" \
    >"$DATA/logs/registry.log" 2>&1 &
  echo $! >"$RUN/registry.pid"
  wait_for registry 120 registry_ready
}

start() {
  install
  start_kafka
  start_registry
  say "ready: kafka 127.0.0.1:$KAFKA_PORT, registry http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7, data in $DATA"
}

stop_one() {
  local name="$1"
  if pid_alive "$name"; then
    local pid; pid=$(cat "$RUN/$name.pid")
    say "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$RUN/$name.pid"
}

stop() { stop_one registry; stop_one kafka; }

status() {
  local rc=0
  for name in kafka registry; do
    if pid_alive "$name"; then say "$name: running (pid $(cat "$RUN/$name.pid"))"; else say "$name: stopped"; rc=1; fi
  done
  return $rc
}

logs() {
  local name="${1:-}"
  case "$name" in
    kafka) tail -n 100 "$DATA/logs/kafka/server.log" ;;
    registry) tail -n 100 "$DATA/logs/registry.log" ;;
    "") tail -n 40 "$DATA/logs/kafka/server.log" "$DATA/logs/registry.log" ;;
    *) die "unknown component '$name': use kafka or registry" ;;
  esac
}

# one component (kafka | registry), for outage tests and operators: start NAME / stop NAME / kill NAME (SIGKILL, like a crash)
component() {
  case "$1" in kafka | registry) ;; *) die "unknown component '$1': use kafka or registry" ;; esac
}

case "${1:-}" in
  install) install ;;
  start) if [ -n "${2:-}" ]; then component "$2"; install; "start_$2"; else start; fi ;;
  stop) if [ -n "${2:-}" ]; then component "$2"; stop_one "$2"; else stop; fi ;;
  kill) component "${2:-}"; pid_alive "$2" && kill -9 "$(cat "$RUN/$2.pid")"; rm -f "$RUN/$2.pid"; say "killed $2" ;;
  status) status ;;
  logs) logs "${2:-}" ;;
  *) die "usage: stack.sh install | start [kafka|registry] | stop [kafka|registry] | kill kafka|registry | status | logs [kafka|registry]" ;;
esac
