#!/usr/bin/env bash
# Finds or fetches Temporal's Java test server (time skipping) and prints the path of an executable
# that runs it, on its last line. The TypeScript SDK's TestWorkflowEnvironment.createTimeSkipping
# downloads a native build of the same server from outside the package registries; this one comes
# from Maven Central (io.temporal:temporal-testing, see temporal-test-server/pom.xml) and is cached
# per user next to the other service binaries, so later calls only print the path.
#
#   bash scripts/temporal-test-server.sh    # needs java (17+) and, on first use, mvn
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(grep -A1 '<artifactId>temporal-testing</artifactId>' "$here/temporal-test-server/pom.xml" | sed -n 's:.*<version>\(.*\)</version>.*:\1:p')"
cache="${MLCYCLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlcycle}"
dest="$cache/bin/temporal-test-server-java-$version"
exe="$dest/temporal-test-server"

if [ ! -x "$exe" ]; then
  command -v java >/dev/null || { echo "temporal-test-server: java is not installed (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "temporal-test-server: mvn is not installed (apt-get install maven)" >&2; exit 1; }
  tmp="$(mktemp -d "$cache/bin/.temporal-test-server.XXXXXX" 2>/dev/null || { mkdir -p "$cache/bin" && mktemp -d "$cache/bin/.temporal-test-server.XXXXXX"; })"
  trap 'rm -rf "$tmp"' EXIT
  started=$(date +%s)
  echo "temporal-test-server: fetching io.temporal:temporal-testing:$version and its dependencies from Maven…" >&2
  mvn -q -B -f "$here/temporal-test-server/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
  # The SDK runs it as `<exe> <port> [extra args]`, as it runs the native build; time skipping
  # starts locked and the SDK unlocks it while it waits on a result.
  cat > "$tmp/temporal-test-server" <<'WRAPPER'
#!/bin/sh
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -cp "$(dirname "$0")/lib/*" io.temporal.testserver.TestServer "$@"
WRAPPER
  chmod +x "$tmp/temporal-test-server"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  echo "temporal-test-server: cached in $dest ($(( $(date +%s) - started )) s)" >&2
fi
echo "$exe"
