#!/usr/bin/env bash
# The ClickHouse JDBC driver (com.clickhouse:clickhouse-jdbc, pinned in test/clients/jdbc/pom.xml, the
# driver DBeaver's ClickHouse connection uses) and its runtime jars, from Maven Central, for the
# integration test that queries the SQL interface through JDBC. Idempotent: when the folder already
# holds the jars of exactly that pom it does nothing. Prints the folder on stdout (the classpath is
# FOLDER/*); progress goes to stderr.
#
# Settings (env): FLEETSTREAM_TOOLS_DIR (.tools). Needs Java 17 or newer and Maven, as the local stack does.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${FLEETSTREAM_TOOLS_DIR:-$ROOT/.tools}"
JARS="$TOOLS/jdbc-client"
POM="$ROOT/test/clients/jdbc/pom.xml"
# a copy of the pom the jars were resolved from: equal to the current one means up to date
INSTALLED="$JARS/installed-pom.xml"

say() { printf '[jdbc-client] %s\n' "$*" >&2; }
die() { printf '[jdbc-client] error: %s\n' "$*" >&2; exit 1; }

if cmp -s "$POM" "$INSTALLED"; then
  echo "$JARS"
  exit 0
fi
command -v java >/dev/null || die "java not found: install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
[ "${major%%.*}" -ge 17 ] 2>/dev/null || die "java $major found; the check needs Java 17 or newer"
command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: apt-get install maven); it resolves the driver from Maven Central"
say "resolving $(grep -m1 -A2 '<artifactId>clickhouse-jdbc' "$POM" | grep -o '<version>[^<]*' | sed 's/<version>/clickhouse-jdbc /') from Maven Central into $JARS"
rm -rf "$JARS" && mkdir -p "$JARS"
if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$JARS" >"$TOOLS/jdbc-client-install.log" 2>&1; then
  tail -20 "$TOOLS/jdbc-client-install.log" >&2
  die "Maven could not resolve the driver (see $TOOLS/jdbc-client-install.log). Is Maven Central reachable?"
fi
cp "$POM" "$INSTALLED"
echo "$JARS"
